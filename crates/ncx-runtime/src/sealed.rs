//! Running from a sealed copy of this binary (runc's fix for CVE-2019-5736).
//!
//! The process that execs a container's command is this program until its execve. Were the
//! command `/proc/self/exe` (directly, through a symlink in the image, or as a `#!`
//! interpreter), the kernel would run *this* file on the host inside the container, as a
//! container process: one the container may open through /proc/PID/exe and, once nothing
//! runs it (or on kernels that do not refuse writing a running binary), overwrite; the
//! next ncx call would then run the container's code on the host. So every process that
//! enters a container first re-executes itself from a memfd copy sealed against writes
//! (`exec` at its start; a container's PID 1 and a health probe right after their fork,
//! through `init` and `probe`, see run.rs and monitor/health.rs): /proc/self/exe is then that
//! copy, which no one can change. The copy lives until the command's execve replaces it;
//! the long-lived monitor itself never runs from one.
//!
//! The "copy" costs nothing where it can (root): a read-only bind mount of the binary, detached
//! at once, opened O_PATH and executed (runc 1.1's and crun's `bindfd`): /proc/self/exe is then a
//! file on a read-only mount that is in no mount namespace, so it can neither be written nor
//! remounted. Where mounting is not allowed (rootless: the host's mount namespace is not ours)
//! the binary is copied into a sealed memfd (2.3 MB per container start). A binary that already
//! lives on a read-only mount (a read-only /usr, a store) is safe as it is: no re-execution.
//! So is, for a runtime that runs unprivileged (rootless), a binary that no process of the
//! user's containers could write: owned by root (a host uid that is in no rootless user
//! namespace's map, so no capability in one applies to it), writable by neither group nor
//! others, without an access ACL (`host_exe_unwritable`; an ncx installed by root, as the
//! system package or `npm install -g` as root install it). That saves the copy and the second
//! execve, ~3 ms of every rootless container start. A binary the user owns (an install in
//! the user's home) is still copied, and so is every binary with `NCX_SEALED_COPY=1`.

use std::sync::atomic::{AtomicBool, Ordering};

use std::ffi::CString;
use std::os::fd::RawFd;

const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process runs from a file no container can write already: a sealed copy, or a
/// file on a read-only mount (the detached bind of `readonly_bind`, or a read-only install).
pub fn running_sealed() -> bool {
    if HOST_EXE_UNWRITABLE.load(Ordering::Relaxed) {
        return true;
    }
    let fd = unsafe { libc::open(c"/proc/self/exe".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    let readonly = unsafe { libc::fstatvfs(fd, &mut vfs) } == 0 && vfs.f_flag & libc::ST_RDONLY != 0;
    unsafe { libc::close(fd) };
    (seals >= 0 && seals & SEALS == SEALS) || readonly
}

/// Set by `note_host_exe`: this program's file is one no container of this user can write.
static HOST_EXE_UNWRITABLE: AtomicBool = AtomicBool::new(false);

/// Decide, at the start of `main` (still in the host's user namespace, where the file's real
/// owner is visible), whether this program's file is out of reach of the user's containers;
/// the processes forked from this one (a container's PID 1, a restart) inherit the answer.
pub fn note_host_exe() {
    HOST_EXE_UNWRITABLE.store(host_exe_unwritable(), Ordering::Relaxed);
}

/// Rootless (the effective uid is not 0: containers run as the user's uids and subordinate
/// uids, never as host root) and the program's file is root's, without group or other write
/// permission and without an access ACL that could grant one. `NCX_SEALED_COPY=1`: never.
fn host_exe_unwritable() -> bool {
    if unsafe { libc::geteuid() } == 0 || std::env::var_os("NCX_SEALED_COPY").is_some_and(|v| v == "1") {
        return false;
    }
    let fd = unsafe { libc::open(c"/proc/self/exe".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let owned = unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_uid == 0 && st.st_mode & 0o022 == 0;
    let no_acl = owned && {
        let n = unsafe { libc::fgetxattr(fd, c"system.posix_acl_access".as_ptr(), std::ptr::null_mut(), 0) };
        n < 0 && matches!(ncx_core::sys::errno(), libc::ENODATA | libc::EOPNOTSUPP)
    };
    unsafe { libc::close(fd) };
    owned && no_acl
}

/// An O_PATH fd of this program on a read-only bind mount that is detached already (in no
/// mount namespace: it cannot be remounted read-write, and a write through /proc/PID/exe fails
/// with EROFS). Needs CAP_SYS_ADMIN over the current mount namespace (root); the mount point,
/// an empty file in the temporary directory, exists for the few system calls it takes.
fn readonly_bind() -> Result<RawFd, String> {
    let dir = std::env::temp_dir();
    let mut template = format!("{}/.ncx-runtime-exe.XXXXXX", dir.display()).into_bytes();
    template.push(0);
    let tmp = unsafe { libc::mkstemp(template.as_mut_ptr() as *mut libc::c_char) };
    if tmp < 0 {
        return Err(os("mkstemp"));
    }
    unsafe { libc::close(tmp) };
    let path = template.as_ptr() as *const libc::c_char;
    let result = (|| unsafe {
        if libc::mount(c"/proc/self/exe".as_ptr(), path, std::ptr::null(), libc::MS_BIND, std::ptr::null()) < 0 {
            return Err(os("bind /proc/self/exe"));
        }
        let fd = if libc::mount(std::ptr::null(), path, std::ptr::null(), libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY, std::ptr::null()) < 0 {
            Err(os("remount the bind read-only"))
        } else {
            let fd = libc::open(path, libc::O_PATH | libc::O_CLOEXEC);
            if fd < 0 { Err(os("open the bind")) } else { Ok(fd) }
        };
        // Detached, or not used at all: a mount still attached could be made read-write again.
        if libc::umount2(path, libc::MNT_DETACH) < 0 {
            if let Ok(fd) = fd {
                libc::close(fd);
            }
            return Err(os("detach the bind"));
        }
        fd
    })();
    unsafe { libc::unlink(path) };
    result
}

/// This program, unwritable by anyone: the read-only bind where allowed, else a sealed copy.
fn protected_exe() -> Result<RawFd, String> {
    readonly_bind().or_else(|_| sealed_copy())
}

fn os(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// A sealed memfd holding this program.
fn sealed_copy() -> Result<RawFd, String> {
    let src = unsafe { libc::open(c"/proc/self/exe".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if src < 0 {
        return Err(os("open /proc/self/exe"));
    }
    let result = (|| {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(src, &mut st) } < 0 {
            return Err(os("stat /proc/self/exe"));
        }
        // MFD_EXEC (6.3+) says the copy is meant to run (vm.memfd_noexec); older kernels refuse the flag.
        let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        let mut fd = unsafe { libc::memfd_create(c"ncx-runtime".as_ptr(), flags | libc::MFD_EXEC) };
        if fd < 0 && ncx_core::sys::errno() == libc::EINVAL {
            fd = unsafe { libc::memfd_create(c"ncx-runtime".as_ptr(), flags) };
        }
        if fd < 0 {
            return Err(os("memfd_create (is vm.memfd_noexec 2?)"));
        }
        let mut left = st.st_size as usize;
        while left > 0 {
            let n = unsafe { libc::sendfile(fd, src, std::ptr::null_mut(), left) };
            if n <= 0 {
                let e = if n == 0 { "copy /proc/self/exe: short file".to_string() } else { os("copy /proc/self/exe") };
                unsafe { libc::close(fd) };
                return Err(e);
            }
            left -= n as usize;
        }
        if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, SEALS) } < 0 {
            let e = os("seal the copy");
            unsafe { libc::close(fd) };
            return Err(e);
        }
        Ok(fd)
    })();
    unsafe { libc::close(src) };
    result
}

extern "C" {
    static environ: *const *const libc::c_char;
}

/// Re-execute as `ncx-runtime CMD --state-fd N` from a sealed copy, `state` in a memfd at
/// fd N (no argument-size limit: a spec with its seccomp profile and environment can be
/// large), `keep` passed on. Returns only on failure.
pub fn reexec_with_state(cmd: &str, state: &serde_json::Value, keep: &[RawFd]) -> String {
    let fd = unsafe { libc::memfd_create(c"ncx-state".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return os("memfd_create");
    }
    let text = state.to_string();
    let mut off = 0;
    while off < text.len() {
        let n = unsafe { libc::write(fd, text[off..].as_ptr() as *const libc::c_void, text.len() - off) };
        if n <= 0 {
            let e = os("write the state");
            unsafe { libc::close(fd) };
            return e;
        }
        off += n as usize;
    }
    unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
    let argv0 = std::env::args().next().unwrap_or_else(|| "ncx-runtime".into());
    let mut all = keep.to_vec();
    all.push(fd);
    let e = reexec(&[argv0, cmd.into(), "--state-fd".into(), fd.to_string()], &all);
    unsafe { libc::close(fd) };
    e
}

/// The state `reexec_with_state` passed (the fd is closed once read).
pub fn read_state(args: &crate::Args) -> Result<serde_json::Value, String> {
    let fd: RawFd = args.get("state-fd").and_then(|f| f.parse().ok()).ok_or("missing --state-fd")?;
    let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| format!("invalid state: {e}"))
}

/// Execute `argv` (argv[0] is kept: `ps` still says ncx-runtime) from a sealed copy of this
/// program, with `keep` passed on (their close-on-exec cleared). Returns only on failure.
pub fn reexec(argv: &[String], keep: &[RawFd]) -> String {
    let fd = match protected_exe() {
        Ok(fd) => fd,
        Err(e) => return format!("cannot run from a sealed copy of the runtime: {e}"),
    };
    for k in keep {
        ncx_core::sys::set_cloexec(*k, false);
    }
    let args: Vec<CString> = argv.iter().map(|a| ncx_core::sys::cstr(a)).collect();
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    unsafe { libc::syscall(libc::SYS_execveat, fd, c"".as_ptr(), ptrs.as_ptr(), environ, libc::AT_EMPTY_PATH) };
    let e = os("execveat the sealed copy");
    unsafe { libc::close(fd) };
    for k in keep {
        ncx_core::sys::set_cloexec(*k, true);
    }
    format!("cannot run from a sealed copy of the runtime: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mountinfo() -> String {
        std::fs::read_to_string("/proc/self/mountinfo").unwrap()
    }

    #[test]
    fn the_readonly_bind_is_unwritable_and_detached_or_refused_without_privilege() {
        let before = mountinfo();
        match readonly_bind() {
            Ok(fd) => {
                let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
                assert_eq!(unsafe { libc::fstatvfs(fd, &mut vfs) }, 0);
                assert_ne!(vfs.f_flag & libc::ST_RDONLY, 0, "the bind is read-only");
                // Writing through the fd's path (as a container would through /proc/PID/exe) fails
                // (ETXTBSY first while this test binary runs; EROFS once nothing runs it).
                let err = std::fs::OpenOptions::new().write(true).open(format!("/proc/self/fd/{fd}")).unwrap_err();
                assert!(matches!(err.raw_os_error(), Some(libc::EROFS) | Some(libc::ETXTBSY)), "{err}");
                // Detached: the fd's mount is in no mount table (it cannot be remounted read-write).
                let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
                let mnt_id = fdinfo.lines().find_map(|l| l.strip_prefix("mnt_id:")).unwrap().trim().to_string();
                assert!(!before.lines().chain(mountinfo().lines()).any(|l| l.split(' ').next() == Some(mnt_id.as_str())), "mount {mnt_id} is attached");
                // The same program: its size is this test binary's.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
                assert_eq!(st.st_size as u64, std::fs::metadata("/proc/self/exe").unwrap().len());
                unsafe { libc::close(fd) };
                assert_eq!(mountinfo(), before, "the bind is detached: no mount is left");
            }
            Err(e) => assert_ne!(unsafe { libc::geteuid() }, 0, "root can bind: {e}"),
        }
        let left: Vec<_> = std::fs::read_dir(std::env::temp_dir()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".ncx-runtime-exe.")).collect();
        assert!(left.is_empty(), "mount points left: {left:?}");
    }

    #[test]
    fn a_binary_of_the_caller_or_run_by_root_is_never_taken_as_out_of_reach() {
        // This test binary is the file of whoever built it: root (whose containers may run as
        // the host's root), or the user, whose containers could write it.
        assert!(!host_exe_unwritable());
    }

    #[test]
    fn the_sealed_copy_is_sealed_and_whole() {
        let fd = sealed_copy().unwrap();
        assert_eq!(unsafe { libc::fcntl(fd, libc::F_GET_SEALS) } & SEALS, SEALS);
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
        assert_eq!(st.st_size as u64, std::fs::metadata("/proc/self/exe").unwrap().len());
        unsafe { libc::close(fd) };
    }
}
