//! Run a helper program (`ncx-runtime …`) with stdin on /dev/null and its stdout and stderr
//! captured, in two steps: [`start`] returns as soon as it runs, [`finish`] collects its
//! output and exit status. The CLI does other work in between (`run -d` syncs the container's
//! record while the runtime starts it).
//!
//! This is what `execFileSync` did, without loading node:child_process (and the net, stream
//! and dgram modules under it) on `run`'s hot path, and with posix_spawn (vfork) instead of
//! fork of the whole Node process. As libuv's spawn does, every signal disposition is reset to
//! the default and the signal mask emptied in the child (Node ignores SIGPIPE and SIGXFSZ) —
//! except glibc's two internal signals (32, 33), which glibc's posix_spawn leaves ignored and
//! its sigaction cannot reset: ncx-runtime resets those itself at start.
//!
//! [`start_reporting`] starts a program that reports on descriptor 3 (`ncx-runtime run
//! --status-fd 3`, for `ncx run` in the foreground) with the CLI's stdin, stdout and stderr
//! or /dev/null in their place; [`reap`] collects its exit once the pipe is at its end.
//!
//! The program gets those descriptors and no other: whatever the CLI
//! inherited without close-on-exec (a shell's `exec 100<DIR`) is closed in the child
//! (glibc's posix_spawn_file_actions_addclosefrom_np, 2.34+, looked up at run time so the
//! addon still loads on an older glibc, where ncx-runtime's own closing at start remains).

use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::raw::c_int;
use std::sync::Mutex;

#[derive(Debug)]
pub struct SpawnError {
    pub op: &'static str,
    pub program: String,
    pub source: io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.program, self.source)
    }
}

impl std::error::Error for SpawnError {}

/// How a finished program ended and what it wrote.
#[derive(Debug)]
pub struct Finished {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Read ends of the started programs' stdout and stderr, by pid.
static RUNNING: Mutex<Option<HashMap<i32, (c_int, c_int)>>> = Mutex::new(None);

fn cstring(program: &str, s: &str) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError { op: "spawn", program: program.into(), source: io::Error::new(io::ErrorKind::InvalidInput, "argument contains a NUL byte") })
}

fn pipe(program: &str) -> Result<[c_int; 2], SpawnError> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(SpawnError { op: "pipe", program: program.into(), source: io::Error::last_os_error() });
    }
    Ok(fds)
}

fn close(fd: c_int) {
    // SAFETY: fd is a pipe end this module created and closes once.
    unsafe { libc::close(fd) };
}

type AddCloseFrom = unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, c_int) -> c_int;

/// glibc's `posix_spawn_file_actions_addclosefrom_np`, when this glibc has it.
fn addclosefrom() -> Option<AddCloseFrom> {
    static FOUND: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: dlsym with a NUL-terminated name; the symbol, when present, has this signature.
    let addr = *FOUND.get_or_init(|| unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"posix_spawn_file_actions_addclosefrom_np".as_ptr()) as usize });
    // SAFETY: a non-null address of that function.
    (addr != 0).then(|| unsafe { std::mem::transmute::<usize, AddCloseFrom>(addr) })
}

/// What a started program's descriptor 0, 1, 2 (or 3) is.
#[derive(Clone, Copy)]
enum Slot {
    /// /dev/null (read-only for 0, write-only otherwise).
    Null,
    /// A copy of this descriptor of ours (close-on-exec or not: the copy is not).
    Fd(c_int),
}

/// posix_spawn `program` with `args`, the current environment, and `slots` as its
/// descriptors 0, 1, 2, … (no other descriptor reaches it). Returns its pid.
fn spawn_with(program: &str, args: &[String], slots: &[Slot]) -> Result<i32, SpawnError> {
    let mut argv_c = vec![cstring(program, program)?];
    for a in args {
        argv_c.push(cstring(program, a)?);
    }
    let mut env_c = Vec::new();
    for (k, v) in std::env::vars_os() {
        use std::os::unix::ffi::OsStrExt;
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        if let Ok(c) = CString::new(kv) {
            env_c.push(c);
        }
    }
    let argv: Vec<*mut libc::c_char> = argv_c.iter().map(|c| c.as_ptr() as *mut _).chain(std::iter::once(std::ptr::null_mut())).collect();
    let envp: Vec<*mut libc::c_char> = env_c.iter().map(|c| c.as_ptr() as *mut _).chain(std::iter::once(std::ptr::null_mut())).collect();
    // Each Fd slot is first copied above the slots (close-on-exec): dup2 onto the slot then
    // works whether the source is that slot itself (an inherited stdio descriptor, which
    // Node may have marked close-on-exec) or another one that a later slot overwrites.
    let mut copies: Vec<c_int> = Vec::new();
    let mut sources = Vec::with_capacity(slots.len());
    for slot in slots {
        sources.push(match *slot {
            Slot::Null => None,
            Slot::Fd(fd) => {
                // SAFETY: F_DUPFD_CLOEXEC on a descriptor number; fails cleanly when it is not open.
                let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
                if copy < 0 {
                    let e = io::Error::last_os_error();
                    copies.iter().for_each(|&c| close(c));
                    return Err(SpawnError { op: "spawn", program: program.into(), source: e });
                }
                copies.push(copy);
                Some(copy)
            }
        });
    }
    let null = c"/dev/null";
    let mut pid: libc::pid_t = 0;
    // SAFETY: the attribute and file-action objects are initialised before use and destroyed
    // after; every pointer passed lives until posix_spawn returns.
    let rc = unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        libc::posix_spawn_file_actions_init(&mut actions);
        let mut defaults: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut defaults);
        for sig in 1..=libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaddset(&mut defaults, sig); // glibc's internal signals are refused: fine
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::posix_spawnattr_setsigdefault(&mut attr, &defaults);
        libc::posix_spawnattr_setsigmask(&mut attr, &empty);
        libc::posix_spawnattr_setflags(&mut attr, (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short);
        for (i, source) in sources.iter().enumerate() {
            match source {
                Some(copy) => libc::posix_spawn_file_actions_adddup2(&mut actions, *copy, i as c_int),
                None => libc::posix_spawn_file_actions_addopen(&mut actions, i as c_int, null.as_ptr(), if i == 0 { libc::O_RDONLY } else { libc::O_WRONLY }, 0),
            };
        }
        if let Some(closefrom) = addclosefrom() {
            closefrom(&mut actions, slots.len() as c_int);
        }
        let rc = libc::posix_spawn(&mut pid, argv_c[0].as_ptr(), &actions, &attr, argv.as_ptr(), envp.as_ptr());
        libc::posix_spawn_file_actions_destroy(&mut actions);
        libc::posix_spawnattr_destroy(&mut attr);
        rc
    };
    copies.iter().for_each(|&c| close(c));
    if rc != 0 {
        return Err(SpawnError { op: "spawn", program: program.into(), source: io::Error::from_raw_os_error(rc) });
    }
    Ok(pid)
}

/// Start `program` (an absolute path) with `args`, the current environment, stdin on
/// /dev/null and stdout/stderr on pipes. Returns its pid, to pass to [`finish`].
pub fn start(program: &str, args: &[String]) -> Result<i32, SpawnError> {
    let out = pipe(program)?;
    let errp = match pipe(program) {
        Ok(p) => p,
        Err(e) => {
            close(out[0]);
            close(out[1]);
            return Err(e);
        }
    };
    let started = spawn_with(program, args, &[Slot::Null, Slot::Fd(out[1]), Slot::Fd(errp[1])]);
    close(out[1]);
    close(errp[1]);
    match started {
        Ok(pid) => {
            RUNNING.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).insert(pid, (out[0], errp[0]));
            Ok(pid)
        }
        Err(e) => {
            close(out[0]);
            close(errp[0]);
            Err(e)
        }
    }
}

/// Start `program` with `args` and the current environment; its descriptors 0, 1 and 2 are
/// ours (`inherit[i]`) or /dev/null, and its descriptor 3 the write end of a pipe whose read
/// end (close-on-exec) is returned with the pid: the runtime's `--status-fd 3`. Reap it with
/// [`reap`] once it has exited.
pub fn start_reporting(program: &str, args: &[String], inherit: [bool; 3]) -> Result<(i32, c_int), SpawnError> {
    let status = pipe(program)?;
    let mut slots: Vec<Slot> = inherit.iter().enumerate().map(|(i, &keep)| if keep { Slot::Fd(i as c_int) } else { Slot::Null }).collect();
    slots.push(Slot::Fd(status[1]));
    let started = spawn_with(program, args, &slots);
    close(status[1]);
    match started {
        Ok(pid) => Ok((pid, status[0])),
        Err(e) => {
            close(status[0]);
            Err(e)
        }
    }
}

/// How `pid`, our child, ended: (exit code, None) or (None, signal). Blocks until it has.
pub fn reap(pid: i32) -> Result<(Option<i32>, Option<i32>), SpawnError> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(SpawnError { op: "wait", program: format!("pid {pid}"), source: e });
        }
    }
    Ok(if libc::WIFEXITED(status) { (Some(libc::WEXITSTATUS(status)), None) } else { (None, Some(libc::WTERMSIG(status))) })
}

/// Read the started program's stdout and stderr to their ends, then reap it.
pub fn finish(pid: i32) -> Result<Finished, SpawnError> {
    let fds = RUNNING.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|m| m.remove(&pid));
    let Some((out, errp)) = fds else {
        return Err(SpawnError { op: "wait", program: format!("pid {pid}"), source: io::Error::new(io::ErrorKind::NotFound, "not started by spawn::start") });
    };
    let mut bufs = [Vec::new(), Vec::new()];
    let mut open = [true, true];
    let fds = [out, errp];
    while open[0] || open[1] {
        let mut polls: Vec<libc::pollfd> = (0..2).filter(|&i| open[i]).map(|i| libc::pollfd { fd: fds[i], events: libc::POLLIN, revents: 0 }).collect();
        // SAFETY: polls is a valid array of pollfd.
        let n = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break;
        }
        for p in &polls {
            if p.revents == 0 {
                continue;
            }
            let i = if p.fd == fds[0] { 0 } else { 1 };
            let mut chunk = [0u8; 8192];
            // SAFETY: chunk is a valid buffer of the given length.
            let r = unsafe { libc::read(p.fd, chunk.as_mut_ptr() as *mut libc::c_void, chunk.len()) };
            if r > 0 {
                bufs[i].extend_from_slice(&chunk[..r as usize]);
            } else if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                open[i] = false;
            }
        }
    }
    close(out);
    close(errp);
    let (code, signal) = reap(pid)?;
    let [stdout, stderr] = bufs;
    Ok(Finished { code, signal, stdout, stderr })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Finished {
        let pid = start("/bin/sh", &["-c".into(), script.into()]).unwrap();
        finish(pid).unwrap()
    }

    #[test]
    fn captures_stdout_stderr_and_code() {
        let f = sh("echo out; echo err >&2; exit 3");
        assert_eq!(f.code, Some(3));
        assert_eq!(f.signal, None);
        assert_eq!(f.stdout, b"out\n");
        assert_eq!(f.stderr, b"err\n");
    }

    #[test]
    fn stdin_is_dev_null_and_large_output_does_not_block() {
        let f = sh("cat; head -c 300000 /dev/zero");
        assert_eq!(f.code, Some(0));
        assert_eq!(f.stdout.len(), 300000);
    }

    #[test]
    fn a_signal_is_reported_as_such() {
        let f = sh("kill -TERM $$");
        assert_eq!(f.code, None);
        assert_eq!(f.signal, Some(libc::SIGTERM));
    }

    #[test]
    fn ignored_signals_are_reset_and_the_mask_emptied() {
        // SAFETY: test-only changes of this process's signal state, restored below.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let f = sh("grep -E '^(SigIgn|SigBlk)' /proc/self/status");
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_DFL) };
        let text = String::from_utf8(f.stdout).unwrap();
        // sh itself may ignore nothing else; SIGXFSZ (bit 25) must not be ignored, nothing blocked.
        let field = |name: &str| u64::from_str_radix(text.lines().find(|l| l.starts_with(name)).unwrap().split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(field("SigIgn") & (1 << (libc::SIGXFSZ - 1)), 0, "{text}");
        assert_eq!(field("SigBlk"), 0, "{text}");
    }

    /// An inherited descriptor without close-on-exec (a shell's `exec 100<DIR`), at `at` or
    /// above; the caller closes it.
    fn leaky_fd(at: c_int) -> c_int {
        // SAFETY: a test-only descriptor on /dev/null.
        let fd = unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            let fd = libc::fcntl(null, libc::F_DUPFD, at);
            libc::close(null);
            fd
        };
        assert!(fd >= at);
        fd
    }

    #[test]
    fn only_stdio_reaches_the_program() {
        let fd = leaky_fd(613);
        let f = sh("ls /proc/self/fd");
        unsafe { libc::close(fd) };
        // 0, 1, 2 and the fd ls itself opens to list the directory.
        let fds: Vec<String> = String::from_utf8(f.stdout).unwrap().split_whitespace().map(str::to_string).collect();
        assert!(fds.len() <= 4 && !fds.contains(&fd.to_string()), "{fds:?}");
    }

    #[test]
    fn missing_program_and_unknown_pid_are_errors() {
        assert!(start("/nonexistent/program", &[]).is_err());
        assert!(finish(999_999).is_err());
    }

    /// Everything the program of `start_reporting` writes to its descriptor 3, and how it ended.
    fn reporting(script: &str, inherit: [bool; 3]) -> (String, Option<i32>) {
        let (pid, status) = start_reporting("/bin/sh", &["-c".into(), script.into()], inherit).unwrap();
        // SAFETY: status is the read end start_reporting returned; File closes it.
        let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(status) };
        let mut out = String::new();
        std::io::Read::read_to_string(&mut f, &mut out).unwrap();
        (out, reap(pid).unwrap().0)
    }

    #[test]
    fn a_reporting_program_writes_to_fd_3_and_gets_only_0_to_3() {
        let fd = leaky_fd(614);
        let (out, code) = reporting("cd /proc/self/fd && echo * >&3; exit 4", [false, false, false]);
        unsafe { libc::close(fd) };
        // (4: the directory the shell reads to expand `*`)
        assert_eq!(out, "0 1 2 3 4\n");
        assert_eq!(code, Some(4));
    }

    #[test]
    fn slots_not_inherited_are_dev_null_and_inherited_ones_survive_close_on_exec() {
        // Our stderr marked close-on-exec (Node may mark its stdio so): inherited all the same.
        // SAFETY: F_GETFD/F_SETFD on fd 2, restored below.
        let flags = unsafe { libc::fcntl(2, libc::F_GETFD) };
        unsafe { libc::fcntl(2, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
        let (out, _) = reporting("x=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); echo \"$x\" >&3", [false, false, true]);
        unsafe { libc::fcntl(2, libc::F_SETFD, flags) };
        let ours = std::fs::read_link("/proc/self/fd/2").unwrap();
        assert_eq!(out, format!("/dev/null\n/dev/null\n{}\n", ours.display()));
    }

    #[test]
    fn reap_reports_a_signal() {
        let (pid, status) = start_reporting("/bin/sh", &["-c".into(), "kill -TERM $$".into()], [false; 3]).unwrap();
        close(status);
        assert_eq!(reap(pid).unwrap(), (None, Some(libc::SIGTERM)));
        assert!(reap(pid).is_err(), "reaped twice");
    }
}
