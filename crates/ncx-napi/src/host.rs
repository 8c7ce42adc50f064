//! Plain-Rust host probes behind the napi wrappers in `lib.rs`.
//!
//! Nothing here knows about N-API, so it is unit-tested with `cargo test`
//! without Node. Every function returns `Result<_, HostError>`; the wrappers
//! turn the error's `Display` text into the JS error message.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::raw::c_int;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// An OS error with the path (or fd) it concerns, e.g.
/// `lock /x/y.lock: Resource temporarily unavailable (os error 11)`.
#[derive(Debug)]
pub struct HostError {
    pub op: &'static str,
    pub target: String,
    pub source: io::Error,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.target, self.source)
    }
}

impl std::error::Error for HostError {}

fn err(op: &'static str, target: &str, source: io::Error) -> HostError {
    HostError { op, target: target.to_string(), source }
}

fn cpath(op: &'static str, path: &str) -> Result<CString, HostError> {
    CString::new(path).map_err(|_| {
        err(op, path, io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
    })
}

/// Runs `f` (a libc call returning -1 on error) until it does not fail with EINTR.
fn retry_eintr(mut f: impl FnMut() -> c_int) -> Result<c_int, io::Error> {
    loop {
        let r = f();
        if r != -1 {
            return Ok(r);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

fn close_quietly(fd: c_int) {
    // SAFETY: fd was returned by open() in this module and is closed once.
    unsafe { libc::close(fd) };
}

/// Opens `path` (O_RDWR|O_CREAT|O_CLOEXEC, 0600: the store is the user's alone) and flock()s it.
/// `blocking == false` adds LOCK_NB; then `Ok(None)` means "already locked".
/// On success the returned fd holds the lock until it is closed.
///
/// A lock file may be unlinked by its holder (`ncx system check --repair` removes those of
/// layers long gone): whoever opened it before the unlink then holds a lock on a file nobody
/// else can open. So after flock the path must still name the locked file; if not, open again.
pub fn lock_file(path: &str, exclusive: bool, blocking: bool) -> Result<Option<c_int>, HostError> {
    let c = cpath("lock", path)?;
    loop {
        let fd = retry_eintr(|| {
            // SAFETY: c is a valid NUL-terminated string for the duration of the call.
            unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC, 0o600 as libc::c_uint) }
        })
        .map_err(|e| err("open", path, e))?;

        let mut op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
        if !blocking {
            op |= libc::LOCK_NB;
        }
        // SAFETY: fd is a valid open descriptor owned by this function.
        match retry_eintr(|| unsafe { libc::flock(fd, op) }) {
            Ok(_) if still_linked(fd, &c) => return Ok(Some(fd)),
            Ok(_) => close_quietly(fd), // unlinked (or replaced) while we waited: take the new one
            Err(e) => {
                close_quietly(fd);
                return if !blocking && e.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(None) } else { Err(err("lock", path, e)) };
            }
        }
    }
}

/// Does `path` still name the file open as `fd`?
fn still_linked(fd: c_int, path: &std::ffi::CStr) -> bool {
    // SAFETY: both stat buffers are valid out-pointers; fd is open; path is NUL-terminated.
    unsafe {
        let mut a: libc::stat = std::mem::zeroed();
        let mut b: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut a) == 0 && libc::stat(path.as_ptr(), &mut b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }
}

/// Closes `fd`, which releases any flock held through it.
pub fn unlock_file(fd: c_int) -> Result<(), HostError> {
    if fd < 0 {
        return Err(err("unlock", &format!("fd {fd}"), io::Error::from_raw_os_error(libc::EBADF)));
    }
    // SAFETY: closing an integer fd; a bad fd yields EBADF, not UB.
    // EINTR on close(2) still releases the descriptor on Linux: do not retry.
    let r = unsafe { libc::close(fd) };
    if r == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(err("unlock", &format!("fd {fd}"), e));
        }
    }
    Ok(())
}

/// Maps a statfs `f_type` magic to a short name, else `0x<hex>`.
pub fn fs_type_name(magic: u32) -> String {
    let name = match magic {
        0x794c_7630 => "overlayfs",
        0x0102_1994 => "tmpfs",
        0x0000_ef53 => "extfs", // EXT2/3/4_SUPER_MAGIC share one value
        0x5846_5342 => "xfs",
        0x9123_683e => "btrfs",
        0x6367_7270 => "cgroup2",
        0x0027_e0eb => "cgroup",
        0x0000_9fa0 => "proc",
        0x6265_6572 => "sysfs",
        0x6573_5546 => "fuse",
        0x0000_6969 => "nfs",
        0x2fc1_2fc1 => "zfs",
        _ => return format!("0x{magic:x}"),
    };
    name.to_string()
}

/// The statfs(2) filesystem type of `path` as a name (see [`fs_type_name`]).
pub fn fs_type(path: &str) -> Result<String, HostError> {
    let c = cpath("statfs", path)?;
    // SAFETY: statfs is plain old data; zeroed is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated; st is a valid, writable statfs.
    retry_eintr(|| unsafe { libc::statfs(c.as_ptr(), &mut st) }).map_err(|e| err("statfs", path, e))?;
    // f_type is a signed word whose width differs by arch; magics are 32-bit.
    Ok(fs_type_name((st.f_type as u64 & 0xffff_ffff) as u32))
}

/// FS_TOPDIR_FL from linux/fs.h (not in the libc crate).
const FS_TOPDIR_FL: c_int = 0x0002_0000;

/// Mark the directory `path` as the top of unrelated directory trees (FS_TOPDIR_FL, `chattr
/// +T`): ext2/3/4's Orlov allocator then spreads its subdirectories, and the files in them,
/// over block groups instead of packing them next to it. Layers unpacked right after others
/// were deleted then do not land among the freshly freed inodes, which a journal-less ext4
/// skips one by one (a buffer lookup each) for 30 s after a delete. True when the flag is
/// set; false when the file system has no such flag. Never follows a symlink.
pub fn mark_top_dir(path: &str) -> Result<bool, HostError> {
    let c = cpath("open", path)?;
    // SAFETY: c is NUL-terminated.
    let fd = retry_eintr(|| unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) })
        .map_err(|e| err("open", path, e))?;
    // SAFETY: fd was just opened and is closed once, here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut flags: c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int (the kernel reads and writes an int despite the _IOR(long)).
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } == -1 {
        return Ok(false);
    }
    if flags & FS_TOPDIR_FL != 0 {
        return Ok(true);
    }
    flags |= FS_TOPDIR_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one int.
    Ok(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) } == 0)
}

/// isatty(3); false for closed or invalid fds.
pub fn isatty(fd: c_int) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    fd >= 0 && unsafe { libc::isatty(fd) } == 1
}

/// TIOCGWINSZ on `fd` as (columns, rows); None if not a terminal or size unknown (0x0).
pub fn terminal_size(fd: c_int) -> Option<(u16, u16)> {
    if fd < 0 {
        return None;
    }
    // SAFETY: winsize is plain old data.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into ws.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    if r == -1 || (ws.ws_col == 0 && ws.ws_row == 0) {
        return None;
    }
    Some((ws.ws_col, ws.ws_row))
}

/// What `signal_container_process` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Signalled {
    Sent,
    /// The process had exited (or been reaped) before the signal.
    Gone,
    /// The process shares our mount namespace: not a container's (the pid was reused).
    NotAContainer,
}

/// Send `sig` to `pid`, a container's process, from this process: the user who owns the
/// container's user namespace may signal into it without joining it (which a multithreaded
/// Node cannot do anyway), so `kill` needs no runtime helper. The signal goes through a pidfd
/// opened before the check, so a pid reused by another process between the check and the
/// signal is never signalled (the pidfd's process is gone: `Gone`). A process in our own
/// mount namespace is refused (`nsenter::check_container_process`, the rule `ncx-runtime
/// stop` and `ps` apply before they enter).
pub fn signal_container_process(pid: c_int, sig: c_int) -> Result<Signalled, HostError> {
    let target = pid.to_string();
    if pid <= 0 {
        return Err(err("signal", &target, io::Error::from_raw_os_error(libc::EINVAL)));
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as c_int;
    if fd < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ESRCH) { Ok(Signalled::Gone) } else { Err(err("pidfd_open", &target, e)) };
    }
    // SAFETY: fd was just returned by pidfd_open and is closed once, when this drops.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    match ncx_core::nsenter::check_container_process(&mut ncx_core::sys::RealSys, pid) {
        Ok(()) => {}
        Err(e) if e.gone() => return Ok(Signalled::Gone),
        Err(ncx_core::nsenter::EnterError::NotAContainer { .. }) => return Ok(Signalled::NotAContainer),
        Err(e) => return Err(err("signal", &target, io::Error::other(e.to_string()))),
    }
    // SAFETY: pidfd_send_signal(pidfd, sig, NULL info, flags 0).
    if unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), sig, std::ptr::null::<libc::siginfo_t>(), 0) } < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::ESRCH) { Ok(Signalled::Gone) } else { Err(err("signal", &target, e)) };
    }
    Ok(Signalled::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A lock file path in a directory of its own, removed when the test is done.
    struct TempLock(PathBuf);

    impl std::ops::Deref for TempLock {
        type Target = PathBuf;
        fn deref(&self) -> &PathBuf {
            &self.0
        }
    }

    impl Drop for TempLock {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn temp_lock(name: &str) -> TempLock {
        let dir = std::env::temp_dir().join(format!("ncx-napi-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempLock(dir.join(name))
    }

    #[test]
    fn mark_top_dir_sets_the_flag_where_the_file_system_has_it() {
        let p = temp_lock("top");
        std::fs::create_dir_all(&*p).unwrap();
        let path = p.to_str().unwrap();
        let marked = mark_top_dir(path).unwrap();
        let read = || {
            let f = std::fs::File::open(&*p).unwrap();
            let mut flags: c_int = 0;
            // SAFETY: as in mark_top_dir.
            let r = unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
            (r == 0).then_some(flags)
        };
        if fs_type(path).unwrap() == "extfs" {
            assert!(marked, "ext4 has FS_TOPDIR_FL");
        }
        if marked {
            assert_ne!(read().unwrap() & FS_TOPDIR_FL, 0);
            assert!(mark_top_dir(path).unwrap(), "marking twice is fine");
        }
        assert!(mark_top_dir("/nonexistent/ncx/dir").unwrap_err().to_string().contains("/nonexistent/ncx/dir"));
        std::fs::write(p.with_file_name("file"), b"x").unwrap();
        assert!(mark_top_dir(p.with_file_name("file").to_str().unwrap()).is_err(), "not a directory");
    }

    #[test]
    fn proc_is_proc() {
        assert_eq!(fs_type("/proc").unwrap(), "proc");
    }

    #[test]
    fn names_and_hex_fallback() {
        assert_eq!(fs_type_name(0xef53), "extfs");
        assert_eq!(fs_type_name(0x6367_7270), "cgroup2");
        assert_eq!(fs_type_name(0x27e0eb), "cgroup");
        assert_eq!(fs_type_name(0x9123_683e), "btrfs");
        assert_eq!(fs_type_name(0x1234abcd), "0x1234abcd");
    }

    #[test]
    fn fs_type_error_names_path() {
        let e = fs_type("/nonexistent/ncx/path").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent/ncx/path"), "{msg}");
        assert!(msg.contains("No such file"), "{msg}");
    }

    #[test]
    fn lock_creates_file_and_unlock_releases() {
        let p = temp_lock("create.lock");
        let _ = std::fs::remove_file(&*p);
        let fd = lock_file(p.to_str().unwrap(), true, true).unwrap().unwrap();
        assert!(p.exists());
        unlock_file(fd).unwrap();
        assert!(unlock_file(-1).is_err());
    }

    #[test]
    fn exclusive_excludes_other_fds() {
        let p = temp_lock("excl.lock");
        let path = p.to_str().unwrap();
        let held = lock_file(path, true, true).unwrap().unwrap();
        // flock locks belong to open file descriptions: a second open() conflicts
        // even in the same process.
        assert_eq!(lock_file(path, true, false).unwrap(), None);
        assert_eq!(lock_file(path, false, false).unwrap(), None);
        unlock_file(held).unwrap();
        let again = lock_file(path, true, false).unwrap().expect("free after unlock");
        unlock_file(again).unwrap();
    }

    #[test]
    fn shared_locks_coexist_but_block_exclusive() {
        let p = temp_lock("shared.lock");
        let path = p.to_str().unwrap();
        let a = lock_file(path, false, true).unwrap().unwrap();
        let b = lock_file(path, false, false).unwrap().expect("second shared lock");
        assert_eq!(lock_file(path, true, false).unwrap(), None);
        unlock_file(a).unwrap();
        unlock_file(b).unwrap();
        let x = lock_file(path, true, false).unwrap().expect("exclusive after shared released");
        unlock_file(x).unwrap();
    }

    #[test]
    fn a_waiter_on_an_unlinked_lock_file_takes_the_new_one() {
        let p = temp_lock("unlinked.lock");
        let path = p.to_str().unwrap().to_string();
        let held = lock_file(&path, true, true).unwrap().unwrap();
        // A second locker opens the same file and waits for it.
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || lock_file(&path, true, true).unwrap().unwrap())
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        // The holder removes the file (system check --repair) and lets go; a third locker makes a new file.
        std::fs::remove_file(&path).unwrap();
        unlock_file(held).unwrap();
        let fd = waiter.join().unwrap();
        // The waiter must hold the file the path names now, so it excludes the next locker.
        assert_eq!(lock_file(&path, true, false).unwrap(), None, "the waiter holds a lock on the unlinked file only");
        unlock_file(fd).unwrap();
    }

    #[test]
    fn lock_error_names_path() {
        let e = lock_file("/nonexistent/ncx/dir/x.lock", true, true).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("open /nonexistent/ncx/dir/x.lock: "), "{msg}");
        assert!(msg.contains("No such file"), "{msg}");
    }

    #[test]
    fn non_tty_fds() {
        let p = temp_lock("tty.lock");
        let fd = lock_file(p.to_str().unwrap(), false, true).unwrap().unwrap();
        assert!(!isatty(fd));
        assert_eq!(terminal_size(fd), None);
        unlock_file(fd).unwrap();
        assert!(!isatty(-1));
        assert_eq!(terminal_size(-1), None);
    }

    #[test]
    fn a_process_in_our_mount_namespace_is_refused_and_not_signalled() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let r = signal_container_process(child.id() as c_int, libc::SIGKILL);
        let alive = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(r.unwrap(), Signalled::NotAContainer);
        assert!(alive, "a host process was signalled");
    }

    #[test]
    fn an_exited_process_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as c_int;
        child.wait().unwrap();
        assert_eq!(signal_container_process(pid, libc::SIGKILL).unwrap(), Signalled::Gone);
    }

    #[test]
    fn no_process_group_or_broadcast_pids() {
        for pid in [0, -1, -7] {
            assert!(signal_container_process(pid, libc::SIGKILL).is_err(), "pid {pid}");
        }
    }

    #[test]
    fn a_process_in_its_own_namespaces_is_signalled() {
        use std::os::unix::process::{CommandExt, ExitStatusExt};
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30");
        // SAFETY: unshare is async-signal-safe; a user namespace makes the mount namespace
        // possible without privileges (ncx needs user namespaces anyway).
        unsafe { cmd.pre_exec(|| if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }) };
        let mut child = cmd.spawn().expect("a process in new user and mount namespaces (are user namespaces enabled?)");
        let r = signal_container_process(child.id() as c_int, libc::SIGTERM);
        if r.as_ref().ok() != Some(&Signalled::Sent) {
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        assert_eq!(r.unwrap(), Signalled::Sent);
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }
}
