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

use std::ffi::CString;
use std::os::fd::RawFd;

const SEALS: libc::c_int = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process runs from a sealed copy already.
pub fn running_sealed() -> bool {
    let fd = unsafe { libc::open(c"/proc/self/exe".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    unsafe { libc::close(fd) };
    seals >= 0 && seals & SEALS == SEALS
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
    let fd = match sealed_copy() {
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
