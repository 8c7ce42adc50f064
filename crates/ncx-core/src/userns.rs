//! The per-user held user namespace: creation (with newuidmap/newgidmap or a single-id
//! map written directly), taking it over again after its holder died (`adopt`), and
//! joining it later with setns.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::process::Command;

/// One line of a uid_map/gid_map.
#[derive(Debug, Clone, PartialEq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Debug)]
pub enum UsernsError {
    BadMapping(String),
    Unshare(i32),
    Map { tool: String, detail: String },
    Join { pid: i32, errno: i32 },
    Fork(i32),
    /// The namespace of that process is not the one recorded (or cannot be held).
    Adopt { pid: i32, reason: String },
}

impl std::fmt::Display for UsernsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsernsError::BadMapping(s) => write!(f, "invalid id mapping {s:?}: expected CONTAINER:HOST:SIZE[,…]"),
            UsernsError::Unshare(e) => write!(
                f,
                "cannot create a user namespace: {} (check sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, and on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns)",
                std::io::Error::from_raw_os_error(*e)
            ),
            UsernsError::Map { tool, detail } => write!(f, "{tool} failed: {detail}"),
            UsernsError::Join { pid, errno } => write!(
                f,
                "cannot join the user namespace held by process {pid}: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
            UsernsError::Fork(e) => write!(f, "fork: {}", std::io::Error::from_raw_os_error(*e)),
            UsernsError::Adopt { pid, reason } => write!(f, "cannot take over the user namespace of process {pid}: {reason}"),
        }
    }
}

impl std::error::Error for UsernsError {}

/// Parse `0:1000:1,1:100000:65536`.
pub fn parse_maps(text: &str) -> Result<Vec<IdMap>, UsernsError> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let nums: Vec<&str> = part.split(':').collect();
        let parsed: Result<Vec<u32>, _> = nums.iter().map(|n| n.parse::<u32>()).collect();
        match parsed {
            Ok(v) if v.len() == 3 && v[2] > 0 => out.push(IdMap { container: v[0], host: v[1], size: v[2] }),
            _ => return Err(UsernsError::BadMapping(text.to_string())),
        }
    }
    if out.is_empty() {
        return Err(UsernsError::BadMapping(text.to_string()));
    }
    Ok(out)
}

/// The arguments newuidmap/newgidmap take after the pid.
pub fn helper_args(maps: &[IdMap]) -> Vec<String> {
    maps.iter()
        .flat_map(|m| [m.container.to_string(), m.host.to_string(), m.size.to_string()])
        .collect()
}

/// The text written to /proc/PID/uid_map.
pub fn map_file_text(maps: &[IdMap]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container, m.host, m.size)).collect()
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0 as RawFd; 2];
    unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) }
}

fn write_maps(pid: i32, uid: &[IdMap], gid: &[IdMap], helpers: bool) -> Result<(), UsernsError> {
    if helpers {
        for (tool, maps) in [("newuidmap", uid), ("newgidmap", gid)] {
            let out = Command::new(tool)
                .arg(pid.to_string())
                .args(helper_args(maps))
                .output()
                .map_err(|e| UsernsError::Map { tool: tool.into(), detail: format!("{e} (install the uidmap package)") })?;
            if !out.status.success() {
                let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Err(UsernsError::Map { tool: tool.into(), detail });
            }
        }
        return Ok(());
    }
    // Single-id mapping without helpers: setgroups must be denied first.
    let files = [
        ("setgroups", "deny".to_string()),
        ("uid_map", map_file_text(uid)),
        ("gid_map", map_file_text(gid)),
    ];
    for (name, text) in files {
        std::fs::write(format!("/proc/{pid}/{name}"), text)
            .map_err(|e| UsernsError::Map { tool: format!("write /proc/{pid}/{name}"), detail: e.to_string() })?;
    }
    Ok(())
}

/// A user namespace nested in the caller's (which must be privileged there: root in the
/// held namespace), with maps written directly (ids of the caller's namespace; setgroups
/// stays allowed). Returned as an open namespace fd: nothing is left running.
pub fn create_nested(uid: &[IdMap], gid: &[IdMap]) -> Result<RawFd, UsernsError> {
    let pid = spawn_holder(|pid| {
        for (name, maps) in [("uid_map", uid), ("gid_map", gid)] {
            std::fs::write(format!("/proc/{pid}/{name}"), map_file_text(maps))
                .map_err(|e| UsernsError::Map { tool: format!("write /proc/{pid}/{name}"), detail: e.to_string() })?;
        }
        Ok(())
    })?;
    let path = crate::sys::cstr(&format!("/proc/{pid}/ns/user"));
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let e = crate::sys::errno();
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    if fd < 0 {
        return Err(UsernsError::Join { pid, errno: e });
    }
    Ok(fd)
}

/// Fork a holder process that owns a new user namespace with the given mappings and
/// sleeps forever in its own session. Returns the holder's pid.
pub fn create_holder(uid: &[IdMap], gid: &[IdMap], helpers: bool) -> Result<i32, UsernsError> {
    spawn_holder(|pid| write_maps(pid, uid, gid, helpers))
}

fn spawn_holder(map: impl FnOnce(i32) -> Result<(), UsernsError>) -> Result<i32, UsernsError> {
    let (mut c2p_r, c2p_w) = pipe();
    let (p2c_r, mut p2c_w) = pipe();
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(UsernsError::Fork(crate::sys::errno()));
    }
    if pid == 0 {
        holder_child(c2p_w, p2c_r);
    }
    drop(c2p_w);
    drop(p2c_r);
    let mut buf = [0u8; 5];
    let n = c2p_r.read(&mut buf).unwrap_or(0);
    if n == 0 || buf[0] != b'u' {
        let errno = if n == 5 { i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) } else { libc::EPERM };
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        return Err(UsernsError::Unshare(errno));
    }
    if let Err(e) = map(pid) {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        return Err(e);
    }
    let _ = p2c_w.write_all(b"g");
    Ok(pid)
}

fn holder_child(mut c2p: std::fs::File, mut p2c: std::fs::File) -> ! {
    unsafe {
        if libc::unshare(libc::CLONE_NEWUSER) < 0 {
            let e = crate::sys::errno().to_le_bytes();
            let _ = c2p.write_all(&[b'e', e[0], e[1], e[2], e[3]]);
            libc::_exit(1);
        }
        let _ = c2p.write_all(b"u");
        let mut b = [0u8; 1];
        if p2c.read(&mut b).unwrap_or(0) != 1 || b[0] != b'g' {
            libc::_exit(1);
        }
    }
    hold()
}

/// The holder's life once it is in its namespace: its own session, nothing open, asleep.
fn hold() -> ! {
    unsafe {
        libc::setsid();
        libc::chdir(c"/".as_ptr());
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, u32::MAX, 0 as libc::c_uint); // (the libc crate has no close_range() for musl)
        libc::prctl(libc::PR_SET_NAME, c"ncx-userns".as_ptr() as libc::c_ulong, 0, 0, 0);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        loop {
            libc::pause();
        }
    }
}

fn ns_inode(fd: RawFd) -> Option<(u64, u64)> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

/// The lines of a uid_map/gid_map file as read from the parent namespace.
pub fn parse_map_file(text: &str) -> Vec<IdMap> {
    text.lines()
        .filter_map(|l| {
            let v: Vec<u32> = l.split_whitespace().filter_map(|n| n.parse().ok()).collect();
            (v.len() == 3).then(|| IdMap { container: v[0], host: v[1], size: v[2] })
        })
        .collect()
}

/// Take over the user namespace that process `pid` runs in, with a new holder (returned):
/// after the holder was killed, that namespace lives on in the containers, monitors and
/// network holder still in it, and a new namespace would leave them out of reach of every
/// later command (and of their network). `inode` is the namespace's inode the old holder
/// recorded; its owner (us), its parent (our namespace) and its mappings are checked too,
/// so no other namespace that reuses the number is taken.
pub fn adopt(pid: i32, inode: u64, uid: &[IdMap], gid: &[IdMap]) -> Result<i32, UsernsError> {
    let refuse = |reason: String| UsernsError::Adopt { pid, reason };
    let path = crate::sys::cstr(&format!("/proc/{pid}/ns/user"));
    let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(refuse(std::io::Error::last_os_error().to_string()));
    }
    let fd = unsafe { <std::os::fd::OwnedFd as FromRawFd>::from_raw_fd(raw) };
    use std::os::fd::AsRawFd;
    if ns_inode(fd.as_raw_fd()).map(|(_, ino)| ino) != Some(inode) {
        return Err(refuse(format!("it is not in the recorded namespace (inode {inode})")));
    }
    let mut owner: libc::uid_t = 0;
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_OWNER_UID as _, &mut owner) } < 0 || owner != unsafe { libc::geteuid() } {
        return Err(refuse("the namespace is not ours".into()));
    }
    let parent = unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_PARENT as _) };
    let ours = unsafe { libc::open(c"/proc/self/ns/user".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let same_parent = parent >= 0 && ours >= 0 && ns_inode(parent).is_some() && ns_inode(parent) == ns_inode(ours);
    unsafe {
        libc::close(parent);
        libc::close(ours);
    }
    if !same_parent {
        return Err(refuse("the namespace is not a child of ours".into()));
    }
    for (name, want) in [("uid_map", uid), ("gid_map", gid)] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{name}")).map_err(|e| refuse(format!("read {name}: {e}")))?;
        if parse_map_file(&text) != want {
            return Err(refuse(format!("its {name} is not the recorded mapping")));
        }
    }
    // (the maps were read from the process: make sure it still is in that namespace)
    let again = crate::sys::cstr(&format!("/proc/{pid}/ns/user"));
    let check = unsafe { libc::open(again.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let still = check >= 0 && ns_inode(check) == ns_inode(fd.as_raw_fd());
    unsafe { libc::close(check) };
    if !still {
        return Err(refuse("it exited meanwhile".into()));
    }
    let (mut c2p_r, c2p_w) = pipe();
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(UsernsError::Fork(crate::sys::errno()));
    }
    if child == 0 {
        let mut c2p = c2p_w;
        unsafe {
            if libc::setns(fd.as_raw_fd(), libc::CLONE_NEWUSER) < 0 {
                let e = crate::sys::errno().to_le_bytes();
                let _ = c2p.write_all(&[b'e', e[0], e[1], e[2], e[3]]);
                libc::_exit(1);
            }
        }
        let _ = c2p.write_all(b"u");
        drop(c2p);
        hold();
    }
    drop(c2p_w);
    let mut buf = [0u8; 5];
    let n = c2p_r.read(&mut buf).unwrap_or(0);
    if n == 0 || buf[0] != b'u' {
        let errno = if n == 5 { i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) } else { libc::EPERM };
        unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
        return Err(refuse(format!("setns: {}", std::io::Error::from_raw_os_error(errno))));
    }
    Ok(child)
}

/// Join the user namespace held by `pid` (the caller must be single-threaded).
pub fn join(pid: i32) -> Result<(), UsernsError> {
    let path = crate::sys::cstr(&format!("/proc/{pid}/ns/user"));
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(UsernsError::Join { pid, errno: crate::sys::errno() });
    }
    let rc = unsafe { libc::setns(fd, libc::CLONE_NEWUSER) };
    let err = crate::sys::errno();
    unsafe { libc::close(fd) };
    if rc < 0 {
        return Err(UsernsError::Join { pid, errno: err });
    }
    become_root();
    Ok(())
}

/// After joining a user namespace: become its root, so files we create are owned by the
/// mapped root (a no-op where our id already is the one mapped to 0).
pub fn become_root() {
    unsafe {
        libc::setresgid(0, 0, 0);
        libc::setresuid(0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rootless_mapping() {
        let m = parse_maps("0:1000:1,1:100000:65536").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], IdMap { container: 1, host: 100000, size: 65536 });
        assert_eq!(helper_args(&m), vec!["0", "1000", "1", "1", "100000", "65536"]);
        assert_eq!(map_file_text(&m[..1]), "0 1000 1\n");
    }

    #[test]
    fn reads_a_map_file_as_the_kernel_prints_it() {
        let text = "         0       1001          1\n         1     100000      65536\n";
        assert_eq!(parse_map_file(text), parse_maps("0:1001:1,1:100000:65536").unwrap());
        assert!(parse_map_file("").is_empty());
    }

    #[test]
    fn rejects_bad_mapping() {
        assert!(parse_maps("0:1000").is_err());
        assert!(parse_maps("a:b:c").is_err());
        assert!(parse_maps("0:1000:0").is_err());
        assert!(parse_maps("").is_err());
    }
}
