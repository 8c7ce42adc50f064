//! Entering a running container's namespaces (for `exec`, health checks, `top`, `stop`,
//! `cp`), all or nothing: every namespace file of the container's process is opened first
//! (after `setns` into the mount namespace, /proc is the container's and the host pid no
//! longer resolves); one that cannot be opened is an error, never a skip. The user
//! namespace is the container's own, reached through its process (never through the
//! per-user holder, which may have been restarted into another namespace since): the one
//! that owns the container's namespaces is joined first (it grants the capabilities the
//! others need), then ipc, uts, net, pid, cgroup, and the mount namespace last; a user
//! namespace of the container's own nested in it (`--userns keep-id`) after everything.
//! A namespace is left out only when it is exactly ours (compared by identity on open
//! fds: `--network host`, or a monitor already in the container's user namespace).
//! Joining the pid namespace only affects children: the caller must fork afterwards.

use std::os::fd::RawFd;

use crate::sys::{Sys, SysError};

/// The namespaces of a container process, in joining order after its user namespace.
pub const KINDS: [(&str, i32); 6] = [
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

/// Why a container's namespaces could not be entered.
#[derive(Debug, Clone, PartialEq)]
pub enum EnterError {
    /// A namespace file of the process could not be opened (it exited, or it is not ours).
    Open { pid: i32, kind: &'static str, source: SysError },
    /// The process shares the caller's mount namespace: it is not a container's process.
    NotAContainer { pid: i32 },
    /// Comparing or joining a namespace failed.
    Join { kind: &'static str, source: SysError },
}

impl EnterError {
    /// The process is gone (it exited, or never existed).
    pub fn gone(&self) -> bool {
        matches!(self, EnterError::Open { source, .. } if source.errno == libc::ENOENT || source.errno == libc::ESRCH)
    }
}

impl std::fmt::Display for EnterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnterError::Open { pid, .. } if self.gone() => write!(f, "process {pid} is gone"),
            EnterError::Open { pid, kind, source } => write!(
                f,
                "cannot open the {kind} namespace of process {pid}: {}",
                std::io::Error::from_raw_os_error(source.errno)
            ),
            EnterError::NotAContainer { pid } => {
                write!(f, "process {pid} is not in a container (it shares the runtime's mount namespace): refusing to enter it")
            }
            EnterError::Join { kind, source } => write!(f, "cannot join the container's {kind} namespace: {source}"),
        }
    }
}

impl std::error::Error for EnterError {}

/// Open fds, closed on every path that does not hand them to `setns`.
struct Fds(Vec<RawFd>);

impl Fds {
    fn close_all(&mut self, sys: &mut dyn Sys) {
        for fd in self.0.drain(..) {
            sys.close_ns(fd);
        }
    }
    fn take(&mut self, fd: RawFd) -> RawFd {
        self.0.retain(|f| *f != fd);
        fd
    }
}

fn ident(sys: &mut dyn Sys, fd: RawFd, kind: &'static str) -> Result<String, EnterError> {
    sys.ns_ident(fd).map_err(|source| EnterError::Join { kind, source })
}

/// Enter exactly the namespaces of `pid`, a container's process (see the module comment).
/// Returns the namespaces joined, in order.
pub fn enter(sys: &mut dyn Sys, pid: i32) -> Result<Vec<&'static str>, EnterError> {
    let mut fds = Fds(Vec::new());
    let result = enter_with(sys, pid, &mut fds);
    fds.close_all(sys);
    result
}

fn enter_with(sys: &mut dyn Sys, pid: i32, fds: &mut Fds) -> Result<Vec<&'static str>, EnterError> {
    let all = std::iter::once(("user", libc::CLONE_NEWUSER)).chain(KINDS);
    let mut theirs = Vec::new();
    for (kind, flag) in all.clone() {
        let fd = sys.open_ns(&format!("/proc/{pid}/ns/{kind}")).map_err(|source| EnterError::Open { pid, kind, source })?;
        fds.0.push(fd);
        theirs.push((kind, flag, fd));
    }
    let mut same = Vec::new();
    for (kind, _, fd) in &theirs {
        let own = sys.open_ns(&format!("/proc/self/ns/{kind}")).map_err(|source| EnterError::Join { kind, source })?;
        fds.0.push(own);
        same.push(ident(sys, *fd, kind)? == ident(sys, own, kind)?);
    }
    let (_, _, user_fd) = theirs[0];
    let (_, _, mnt_fd) = theirs[6];
    if same[6] {
        return Err(EnterError::NotAContainer { pid });
    }
    let owner = sys.ns_owner(mnt_fd).map_err(|source| EnterError::Join { kind: "user", source })?;
    fds.0.push(owner);
    let owner_id = ident(sys, owner, "user")?;
    let owner_is_ours = same[0] || {
        let own_user = sys.open_ns("/proc/self/ns/user").map_err(|source| EnterError::Join { kind: "user", source })?;
        fds.0.push(own_user);
        owner_id == ident(sys, own_user, "user")?
    };
    let nested = owner_id != ident(sys, user_fd, "user")?;
    let mut joined = Vec::new();
    if !owner_is_ours {
        sys.setns(fds.take(owner), libc::CLONE_NEWUSER, "user").map_err(|source| EnterError::Join { kind: "user", source })?;
        joined.push("user");
    }
    for (i, (kind, flag, fd)) in theirs.iter().enumerate().skip(1) {
        if same[i] {
            continue;
        }
        sys.setns(fds.take(*fd), *flag, kind).map_err(|source| EnterError::Join { kind, source })?;
        joined.push(*kind);
    }
    // A container in a user namespace of its own (`--userns keep-id`, nested in the one that
    // owns its other namespaces): joined last, once every namespace owned by the outer one is.
    if nested && !same[0] {
        sys.setns(fds.take(user_fd), libc::CLONE_NEWUSER, "user").map_err(|source| EnterError::Join { kind: "user", source })?;
        joined.push("user");
    }
    Ok(joined)
}

/// Join the user namespace that owns the namespaces of `pid`, a container's process (not
/// the holder's: see the module comment), unless it is ours already: signalling its
/// processes and reading their files goes through it. Returns whether it joined.
pub fn join_owner(sys: &mut dyn Sys, pid: i32) -> Result<bool, EnterError> {
    let mut fds = Fds(Vec::new());
    let result = join_owner_with(sys, pid, &mut fds);
    fds.close_all(sys);
    result
}

/// Open the mount namespace of `pid`, refused (`NotAContainer`) when it is ours: a pid reused
/// by a host process, never a container's.
fn container_mount_ns(sys: &mut dyn Sys, pid: i32, fds: &mut Fds) -> Result<RawFd, EnterError> {
    let mnt = sys.open_ns(&format!("/proc/{pid}/ns/mnt")).map_err(|source| EnterError::Open { pid, kind: "mnt", source })?;
    fds.0.push(mnt);
    let own_mnt = sys.open_ns("/proc/self/ns/mnt").map_err(|source| EnterError::Join { kind: "mnt", source })?;
    fds.0.push(own_mnt);
    if ident(sys, mnt, "mnt")? == ident(sys, own_mnt, "mnt")? {
        return Err(EnterError::NotAContainer { pid });
    }
    Ok(mnt)
}

/// Is `pid` a container's process (its mount namespace not ours)? `NotAContainer` when it is
/// not, an `Open` error that is `gone()` when it has exited. For signalling it from outside
/// without entering it (`ncx kill`: the owner of its user namespace may).
pub fn check_container_process(sys: &mut dyn Sys, pid: i32) -> Result<(), EnterError> {
    let mut fds = Fds(Vec::new());
    let result = container_mount_ns(sys, pid, &mut fds).map(|_| ());
    fds.close_all(sys);
    result
}

fn join_owner_with(sys: &mut dyn Sys, pid: i32, fds: &mut Fds) -> Result<bool, EnterError> {
    let mnt = container_mount_ns(sys, pid, fds)?;
    let owner = sys.ns_owner(mnt).map_err(|source| EnterError::Join { kind: "user", source })?;
    fds.0.push(owner);
    let own_user = sys.open_ns("/proc/self/ns/user").map_err(|source| EnterError::Join { kind: "user", source })?;
    fds.0.push(own_user);
    if ident(sys, owner, "user")? == ident(sys, own_user, "user")? {
        return Ok(false);
    }
    sys.setns(fds.take(owner), libc::CLONE_NEWUSER, "user").map_err(|source| EnterError::Join { kind: "user", source })?;
    Ok(true)
}

/// `KIND=PATH,…` (`--pid`/`--ipc container:X`): join those namespaces of another container
/// instead of creating them (a pid namespace applies to the children forked afterwards).
/// Returns the clone flags of the namespaces joined, which the caller must not create anew.
pub fn join_paths(sys: &mut dyn Sys, list: &str) -> Result<i32, SysError> {
    let mut todo = Vec::new();
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (kind, path) = item.split_once('=').unwrap_or((item, ""));
        let Some((_, flag)) = KINDS.iter().find(|(k, _)| *k == kind) else {
            return Err(SysError { op: "join namespace", target: item.into(), errno: libc::EINVAL });
        };
        todo.push((*flag, sys.open_ns(path)?, path));
    }
    let mut joined = 0;
    for (flag, fd, path) in todo {
        sys.setns(fd, flag, path)?;
        joined |= flag;
    }
    Ok(joined)
}

/// A detached copy of the mount at `path` as another container sees it (`--ipc container:X`
/// shares X's /dev/shm, as Docker does). A mount cannot be bind-mounted from another mount
/// namespace, so this enters that namespace (`mnt_ns`, `/proc/PID/ns/mnt`), clones the tree
/// there, and comes back to ours, also when the clone fails. The caller must be
/// single-threaded (setns into a mount namespace requires it) and attach the result with
/// `Sys::attach_tree`.
pub fn clone_mount_from(sys: &mut dyn Sys, mnt_ns: &str, path: &str) -> Result<RawFd, SysError> {
    let ours = sys.open_ns("/proc/self/ns/mnt")?;
    let theirs = sys.open_ns(mnt_ns)?;
    sys.setns(theirs, libc::CLONE_NEWNS, mnt_ns)?;
    let tree = sys.clone_tree(path);
    sys.setns(ours, libc::CLONE_NEWNS, "our mount namespace")?;
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::RecordingSys;

    #[test]
    fn opens_everything_first_then_joins_user_first_and_mount_last() {
        let mut sys = RecordingSys::default();
        let joined = enter(&mut sys, 42).unwrap();
        assert_eq!(joined, vec!["user", "ipc", "uts", "net", "pid", "cgroup", "mnt"]);
        let first_setns = sys.calls.iter().position(|c| c.starts_with("setns")).unwrap();
        let opens: Vec<&String> = sys.calls[..first_setns].iter().filter(|c| c.starts_with("open /proc/42/")).collect();
        assert_eq!(opens.len(), 7, "every namespace of the container is opened before any is joined");
        assert_eq!(sys.calls[first_setns], "setns user");
        assert_eq!(sys.calls.last().unwrap(), "setns mnt");
        assert!(sys.open.is_empty(), "no fd left open: {:?}", sys.open);
    }

    #[test]
    fn leaves_out_only_namespaces_that_are_exactly_ours() {
        let mut sys = RecordingSys { existing: vec!["/proc/7/ns/net".into(), "/proc/7/ns/cgroup".into()], ..Default::default() };
        assert_eq!(enter(&mut sys, 7).unwrap(), vec!["user", "ipc", "uts", "pid", "mnt"]);
        assert!(sys.calls.iter().any(|c| c == "open /proc/7/ns/net"), "a shared namespace is still opened and compared");
        assert!(sys.open.is_empty());
    }

    #[test]
    fn a_namespace_that_cannot_be_opened_is_an_error_not_a_skip() {
        // The holder was restarted into another user namespace: the container's files are
        // not ours to open from there. Before this rule, such a namespace was skipped and the
        // command ran in the caller's (the host's) namespaces.
        for kind in ["user", "ipc", "uts", "net", "pid", "cgroup", "mnt"] {
            let mut sys = RecordingSys { fail: vec![(format!("open /proc/9/ns/{kind}"), libc::EACCES)], ..Default::default() };
            let e = enter(&mut sys, 9).unwrap_err();
            assert!(matches!(e, EnterError::Open { kind: k, .. } if k == kind), "{kind}: {e:?}");
            assert!(!sys.calls.iter().any(|c| c.starts_with("setns")), "{kind}: nothing joined");
            assert!(sys.open.is_empty(), "{kind}: {:?}", sys.open);
        }
        let mut gone = RecordingSys { fail: vec![("open /proc/9/ns/user".into(), libc::ENOENT)], ..Default::default() };
        let e = enter(&mut gone, 9).unwrap_err();
        assert!(e.gone());
        assert_eq!(e.to_string(), "process 9 is gone");
    }

    #[test]
    fn a_process_in_our_mount_namespace_is_refused() {
        // A reused pid, or a process that is not a container's: entering it would run the
        // command on the host.
        let mut sys = RecordingSys { existing: vec!["/proc/5/ns/mnt".into()], ..Default::default() };
        assert_eq!(enter(&mut sys, 5).unwrap_err(), EnterError::NotAContainer { pid: 5 });
        assert!(!sys.calls.iter().any(|c| c.starts_with("setns")));
        let mut sys = RecordingSys { existing: vec!["/proc/5/ns/mnt".into()], ..Default::default() };
        assert_eq!(join_owner(&mut sys, 5).unwrap_err(), EnterError::NotAContainer { pid: 5 });
        assert!(sys.open.is_empty());
        let mut sys = RecordingSys { existing: vec!["/proc/5/ns/mnt".into()], ..Default::default() };
        assert_eq!(check_container_process(&mut sys, 5).unwrap_err(), EnterError::NotAContainer { pid: 5 });
        assert!(sys.open.is_empty());
        let mut sys = RecordingSys::default();
        assert_eq!(check_container_process(&mut sys, 5), Ok(()));
        assert!(sys.open.is_empty() && !sys.calls.iter().any(|c| c.starts_with("setns")));
        let mut gone = RecordingSys { fail: vec![("open /proc/5/ns/mnt".into(), libc::ENOENT)], ..Default::default() };
        assert!(check_container_process(&mut gone, 5).unwrap_err().gone());
    }

    #[test]
    fn a_failed_join_stops_at_once() {
        let mut sys = RecordingSys { fail: vec![("setns net".into(), libc::EPERM)], ..Default::default() };
        let e = enter(&mut sys, 3).unwrap_err();
        assert!(matches!(e, EnterError::Join { kind: "net", .. }));
        assert!(!sys.calls.iter().any(|c| c == "setns pid" || c == "setns mnt"));
        assert!(sys.open.is_empty());
    }

    #[test]
    fn from_inside_the_owning_user_namespace_the_user_namespace_is_not_joined() {
        // A health probe: the monitor is in the container's user namespace already.
        let mut sys = RecordingSys { existing: vec!["/proc/6/ns/user".into()], ..Default::default() };
        assert_eq!(enter(&mut sys, 6).unwrap(), vec!["ipc", "uts", "net", "pid", "cgroup", "mnt"]);
    }

    #[test]
    fn clones_a_mount_of_another_namespace_and_always_comes_back() {
        let mut sys = RecordingSys::default();
        clone_mount_from(&mut sys, "/proc/9/ns/mnt", "/dev/shm").unwrap();
        assert_eq!(sys.calls, vec!["open /proc/self/ns/mnt", "open /proc/9/ns/mnt", "setns /proc/9/ns/mnt", "clone_tree /dev/shm", "setns our mount namespace"]);
        // The clone fails (no /dev/shm there): back in ours all the same, and the error reported.
        let mut failing = RecordingSys { fail: vec![("clone_tree".into(), libc::ENOENT)], ..Default::default() };
        let e = clone_mount_from(&mut failing, "/proc/9/ns/mnt", "/dev/shm").unwrap_err();
        assert_eq!(e.errno, libc::ENOENT);
        assert_eq!(failing.calls.last().unwrap(), "setns our mount namespace");
        // Entering theirs fails: nothing cloned.
        let mut refused = RecordingSys { fail: vec![("setns /proc/9".into(), libc::EPERM)], ..Default::default() };
        assert!(clone_mount_from(&mut refused, "/proc/9/ns/mnt", "/dev/shm").is_err());
        assert!(!refused.calls.iter().any(|c| c.starts_with("clone_tree")));
    }

    #[test]
    fn joins_listed_paths_and_reports_their_flags() {
        let mut sys = RecordingSys::default();
        let joined = join_paths(&mut sys, "pid=/proc/5/ns/pid,ipc=/proc/5/ns/ipc").unwrap();
        assert_eq!(joined, libc::CLONE_NEWPID | libc::CLONE_NEWIPC);
        assert_eq!(sys.calls, vec!["open /proc/5/ns/pid", "open /proc/5/ns/ipc", "setns /proc/5/ns/pid", "setns /proc/5/ns/ipc"]);
        assert!(join_paths(&mut sys, "user=/proc/5/ns/user").is_err());
        assert_eq!(join_paths(&mut sys, "").unwrap(), 0);
    }

    #[test]
    fn a_container_in_its_own_user_namespace_is_joined_there_last() {
        // `--userns keep-id`: its namespaces are owned by the held user namespace, its
        // process is in a nested one. From the host: the owner first, the nested one last.
        let mut sys = RecordingSys { owners: vec![("/proc/8/ns/mnt".into(), "held".into())], ..Default::default() };
        assert_eq!(enter(&mut sys, 8).unwrap(), vec!["user", "ipc", "uts", "net", "pid", "cgroup", "mnt", "user"]);
        assert_eq!(sys.calls.last().unwrap(), "setns user");
        // From the monitor (already in the held one): only the nested one, last.
        let mut sys = RecordingSys { owners: vec![("/proc/8/ns/mnt".into(), "self".into())], ..Default::default() };
        assert_eq!(enter(&mut sys, 8).unwrap(), vec!["ipc", "uts", "net", "pid", "cgroup", "mnt", "user"]);
        assert!(sys.open.is_empty());
    }

    #[test]
    fn join_owner_joins_the_user_namespace_owning_the_container_unless_ours() {
        let mut sys = RecordingSys::default();
        assert!(join_owner(&mut sys, 4).unwrap());
        assert_eq!(sys.calls.iter().filter(|c| c.starts_with("setns")).collect::<Vec<_>>(), vec!["setns user"]);
        assert!(sys.open.is_empty());
        let mut inside = RecordingSys { owners: vec![("/proc/4/ns/mnt".into(), "self".into())], ..Default::default() };
        assert!(!join_owner(&mut inside, 4).unwrap());
        assert!(!inside.calls.iter().any(|c| c.starts_with("setns")));
        let mut gone = RecordingSys { fail: vec![("open /proc/4/ns/mnt".into(), libc::ESRCH)], ..Default::default() };
        assert!(join_owner(&mut gone, 4).unwrap_err().gone());
    }
}
