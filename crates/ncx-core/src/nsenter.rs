//! Entering a running container's namespaces (for `exec` and health checks), in the order
//! the kernel requires: every namespace file is opened first (after `setns` into the
//! mount namespace, /proc is the container's and the host pid no longer resolves), the
//! user namespace is joined before the others (it grants the capabilities they need), and
//! the mount namespace last. Joining the pid namespace only affects children: the caller
//! must fork afterwards.

use std::os::fd::RawFd;

use crate::sys::{Sys, SysError};

/// The namespaces a container process may have, in joining order after `user`.
pub const KINDS: [(&str, i32); 6] = [
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

/// Join the namespaces of `pid` that differ from ours. `user`: also join its user namespace
/// (first); leave it false when the caller already is in it.
pub fn enter(sys: &mut dyn Sys, pid: i32, user: bool) -> Result<Vec<&'static str>, SysError> {
    let mut todo: Vec<(&'static str, i32)> = Vec::new();
    if user {
        todo.push(("user", libc::CLONE_NEWUSER));
    }
    for (kind, flag) in KINDS {
        let theirs = sys.ns_id(&format!("/proc/{pid}/ns/{kind}"));
        let ours = sys.ns_id(&format!("/proc/self/ns/{kind}"));
        if theirs.is_some() && theirs != ours {
            todo.push((kind, flag));
        }
    }
    // A container in a user namespace of its own (`--userns keep-id`, nested in the held
    // one): joined last, once every namespace owned by the held one is entered.
    if !user {
        let theirs = sys.ns_id(&format!("/proc/{pid}/ns/user"));
        if theirs.is_some() && theirs != sys.ns_id("/proc/self/ns/user") {
            todo.push(("user", libc::CLONE_NEWUSER));
        }
    }
    let mut fds = Vec::with_capacity(todo.len());
    for (kind, _) in &todo {
        fds.push(sys.open_ns(&format!("/proc/{pid}/ns/{kind}"))?);
    }
    for ((kind, flag), fd) in todo.iter().zip(fds) {
        sys.setns(fd, *flag, kind)?;
    }
    Ok(todo.iter().map(|(k, _)| *k).collect())
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
        let joined = enter(&mut sys, 42, true).unwrap();
        assert_eq!(joined, vec!["user", "ipc", "uts", "net", "pid", "cgroup", "mnt"]);
        let first_setns = sys.calls.iter().position(|c| c.starts_with("setns")).unwrap();
        assert!(sys.calls[..first_setns].iter().all(|c| c.starts_with("open /proc/42/ns/")));
        assert_eq!(sys.calls[first_setns], "setns user");
        assert_eq!(sys.calls.last().unwrap(), "setns mnt");
    }

    #[test]
    fn skips_namespaces_already_shared() {
        let mut sys = RecordingSys { existing: vec!["/proc/7/ns/net".into(), "/proc/7/ns/cgroup".into(), "/proc/7/ns/user".into()], ..Default::default() };
        assert_eq!(enter(&mut sys, 7, false).unwrap(), vec!["ipc", "uts", "pid", "mnt"]);
        assert!(!sys.calls.iter().any(|c| c.contains("user") || c.contains("net")));
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
    fn a_failed_open_joins_nothing() {
        let mut sys = RecordingSys { fail: vec![("open /proc/9/ns/pid".into(), libc::EACCES)], ..Default::default() };
        assert!(enter(&mut sys, 9, false).is_err());
        assert!(!sys.calls.iter().any(|c| c.starts_with("setns")));
    }

    #[test]
    fn a_container_in_its_own_user_namespace_is_joined_there_last() {
        let mut sys = RecordingSys::default();
        let joined = enter(&mut sys, 8, false).unwrap();
        assert_eq!(joined, vec!["ipc", "uts", "net", "pid", "cgroup", "mnt", "user"]);
        assert_eq!(sys.calls.last().unwrap(), "setns user");
    }
}
