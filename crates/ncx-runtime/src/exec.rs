//! `ncx-runtime exec`: run a process in a running container.
//!
//!   ncx-runtime exec --pid PID --process JSON [--config CONFIG] [--status-fd N] [--no-stdin] [--detach]
//!       [--detach-keys B,B…] [--cgroup-strict] [--resize-fd N]
//!
//! `--resize-fd N`: a pipe of `ROWS COLS` lines (the Engine API's `POST /exec/{id}/resize`),
//! each set on the pty's master (TIOCSWINSZ: the kernel sends the process group SIGWINCH) by
//! a watcher forked before the container is entered (`resize_watcher`). The process's initial
//! size is its `consoleSize`, set before it runs.
//!
//! `--config`: the container's config.json: its seccomp profile and cgroup apply to the process too.
//!
//! With a terminal, the detach keys leave the process running: this supervisor reports
//! `{"event":"detached"}`, leaves the terminal (setsid, stdio on /dev/null, the status fd
//! closed; the CLI does not wait for it) and keeps the pty open until the process exits.
//!
//! Enters exactly the namespaces of the container's PID 1, its user namespace first, through
//! the process itself (ncx_core::nsenter: not through the per-user holder, which may have
//! been restarted since; a namespace that cannot be opened is an error), forks (the PID
//! namespace applies to children), applies the
//! process settings (user, capabilities, env, cwd, terminal) with the same code as `run`,
//! and execs. Without --detach it supervises like `run` and exits with the process's code.

use crate::fdpass::receive;
use crate::run::exec_process;
use crate::signals::{block_signals, supervised_signals};
use crate::status::Status;
use crate::supervise::{supervise, supervise_with_keys, Output, Supervised};
use crate::Args;
use ncx_core::nsenter;
use ncx_core::spec::Process;
use ncx_core::sys::RealSys;
use std::os::fd::RawFd;

/// Why exec could not start: Docker's exit code and a message.
#[derive(Debug)]
pub struct ExecError {
    pub code: i32,
    pub message: String,
}

fn prepare(args: &Args) -> Result<(i32, Process), ExecError> {
    let e = |code: i32, message: String| ExecError { code, message };
    let pid: i32 = args.require("pid").parse().map_err(|_| e(125, "invalid --pid".into()))?;
    // `--process-fd N`: the JSON comes through a pipe, as ncx sends it: a command line is
    // readable by every user of the machine (/proc/PID/cmdline), and the process's env holds
    // the container's `-e` values.
    let text = match args.get("process-fd") {
        Some(fd) => {
            let fd: RawFd = fd.parse().map_err(|_| e(125, "invalid --process-fd".into()))?;
            let mut text = String::new();
            // SAFETY: the fd was handed to us for this and is read once, then closed.
            let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
            std::io::Read::read_to_string(&mut f, &mut text).map_err(|x| e(125, format!("read --process-fd {fd}: {x}")))?;
            text
        }
        None => args.require("process").to_string(),
    };
    let process: Process = serde_json::from_str(&text).map_err(|x| e(125, format!("invalid --process: {x}")))?;
    // Before anything of the container is joined: the process forked below inherits it.
    crate::run::undumpable(&process).map_err(|x| e(125, x))?;
    nsenter::enter(&mut RealSys, pid).map_err(|x| e(126, format!("cannot enter the container's namespaces: {x}")))?;
    Ok((pid, process))
}

/// `--resize-fd N`: a watcher process forked here, before anything of the container is
/// joined (no thread can be made in the container's PID namespace, and a process made
/// there would show in the container): it gets the pty's master through the returned
/// socket and sets each `ROWS COLS` line of fd N on it (TIOCSWINSZ). It ends at the pipe's
/// end, or with this supervisor (PDEATHSIG), or at once when no master comes.
fn resize_watcher(fd: RawFd) -> Option<RawFd> {
    let mut pair = [0 as RawFd; 2];
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr()) } < 0 {
        unsafe { libc::close(fd) };
        return None;
    }
    let parent = unsafe { libc::getpid() };
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(0);
            }
            // Nothing of the supervisor's: its status fd and stdio are read until every writer is gone.
            ncx_core::sys::close_fds_except(&[fd, pair[1]]);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            for i in 0..3 {
                libc::dup2(null, i);
            }
        }
        let (master, _) = crate::run::receive(pair[1]);
        unsafe { libc::close(pair[1]) };
        if let Some(m) = master {
            // Each size set is acknowledged on fd N when it is a socket (the engine's pipe is).
            let ack = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            crate::attach::read_resizes(fd, |rows, cols| {
                let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
                unsafe { libc::ioctl(m, libc::TIOCSWINSZ, &ws) };
                if ack >= 0 {
                    crate::attach::write_all(ack, format!("{rows} {cols}\n").as_bytes());
                }
            });
        }
        unsafe { libc::_exit(0) };
    }
    unsafe {
        libc::close(fd);
        libc::close(pair[1]);
    }
    if pid < 0 {
        unsafe { libc::close(pair[0]) };
        return None;
    }
    Some(pair[0])
}

pub fn exec(args: &Args) -> i32 {
    let status = Status { fd: args.get("status-fd").and_then(|s| s.parse().ok()) };
    if let Some(fd) = status.fd {
        // Not for the process: the CLI reads the status pipe until every writer is gone.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    let report = |code: i32, msg: String| -> i32 {
        status.send(serde_json::json!({ "event": "error", "code": code, "message": msg }));
        if status.fd.is_none() {
            eprintln!("ncx-runtime: {msg}");
        }
        code
    };
    let watcher = match args.get("resize-fd").map(|f| f.parse::<RawFd>()) {
        Some(Ok(fd)) => resize_watcher(fd),
        Some(Err(_)) => return report(125, "invalid --resize-fd".into()),
        None => None,
    };
    // The container's config, read on the host before entering its mount namespace: its
    // seccomp profile applies to the process, and the process joins its cgroup (this
    // supervisor moves there first, as runc's init does: from inside the container's cgroup
    // namespace the move would be refused).
    let linux = match args.get("config").map(ncx_core::spec::Spec::load) {
        Some(Ok(spec)) => spec.linux,
        Some(Err(e)) => return report(125, e.to_string()),
        None => None,
    };
    let seccomp = linux.as_ref().and_then(|l| l.seccomp.clone());
    // Best effort, as the health probes' join (monitor/health.rs) and as `run` treats limits it
    // cannot apply: where this user may not move processes into the container's cgroup (not
    // delegated to it), the process runs outside it with one warning; `--cgroup-strict`
    // (the CLI's NCX_CGROUP_ENFORCE=1) makes that an error.
    if let Some(path) = linux.as_ref().map(|l| l.cgroups_path.as_str()).filter(|p| !p.is_empty()) {
        let procs = format!("{}/cgroup.procs", ncx_core::cgroup::dir(path));
        if std::path::Path::new(&procs).exists() {
            if let Err(e) = std::fs::write(&procs, "0") {
                let msg = format!("cannot join the container's cgroup: {procs}: {e}");
                if args.has("--cgroup-strict") {
                    // The process cannot start where it must: 126, as Docker's 'OCI runtime exec failed'.
                    return report(126, msg);
                }
                let warning = format!("{msg}; the process runs outside it, without the container's resource limits (NCX_CGROUP_ENFORCE=1 makes this an error)");
                status.send(serde_json::json!({ "event": "warning", "message": warning }));
                if status.fd.is_none() {
                    eprintln!("ncx-runtime: warning: {warning}");
                }
            }
        }
    }
    // The OCI `exec`'s --pid-file and --console-socket (oci.rs): host paths, opened before
    // the container's mount namespace is entered.
    let pid_file = match args.get("pid-file").map(|p| (p, std::fs::File::create(p))) {
        Some((_, Ok(f))) => Some(f),
        Some((p, Err(e))) => return report(125, format!("write the pid file {p}: {e}")),
        None => None,
    };
    let console = match args.get("console-socket").map(crate::oci::connect_console) {
        Some(Ok(fd)) => Some(fd),
        Some(Err((_, msg))) => return report(125, msg),
        None => None,
    };
    let (_, process) = match prepare(args) {
        Ok(p) => p,
        Err(e) => return report(e.code, e.message),
    };
    let detach = args.has("--detach");
    let mut pair = [0 as RawFd; 2];
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr()) } < 0 {
        return report(125, format!("socketpair: {}", std::io::Error::last_os_error()));
    }
    let (set, _) = block_signals(&supervised_signals());
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return report(125, format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        unsafe {
            libc::close(pair[0]);
            if detach {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
            }
        }
        let mut p = process;
        if detach && args.get("console-socket").is_none() {
            p.terminal = false;
        }
        exec_process(&p, seccomp.as_ref(), pair[1], false, false);
    }
    unsafe { libc::close(pair[1]) };
    let (master, error) = receive(pair[0]);
    unsafe { libc::close(pair[0]) };
    if let Some((_, msg)) = error {
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        // Docker's exec: a process that cannot be started (not found, not executable, no
        // such working directory) is 126, whatever the reason.
        return report(126, msg);
    }
    status.send(serde_json::json!({ "event": "started", "pid": pid }));
    if let Some(mut f) = pid_file {
        let _ = std::io::Write::write_all(&mut f, pid.to_string().as_bytes());
    }
    let master = match (master, console) {
        (Some(m), Some(sock)) => {
            crate::fdpass::send_fd(sock, m);
            unsafe {
                libc::close(sock);
                libc::close(m);
            }
            None
        }
        (m, _) => m,
    };
    if detach {
        return 0;
    }
    if let Some(w) = watcher {
        // The watcher sets the sizes on the master; without one (no terminal) it just ends.
        if let Some(m) = master {
            crate::run::send_fd(w, m);
        }
        unsafe { libc::close(w) };
    }
    let keys = crate::attach::parse_keys(args.get("detach-keys").unwrap_or(""));
    let no_stdin = args.has("--no-stdin");
    let keys = if master.is_some() && !no_stdin { keys } else { vec![] };
    match supervise_with_keys(pid, &set, master, no_stdin, &keys, &mut Output::default()) {
        Supervised::Exited(code) => {
            status.send(serde_json::json!({ "event": "exit", "code": code }));
            code
        }
        Supervised::Detached => {
            status.send(serde_json::json!({ "event": "detached" }));
            // Stay the process's parent (its reaper), but leave the terminal's session.
            unsafe {
                libc::setsid();
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
                if let Some(fd) = status.fd {
                    libc::close(fd);
                }
            }
            // Hold the pty (output dropped) until the process exits.
            supervise(pid, &set, master, true)
        }
    }
}
