//! Signalling and inspecting a container's processes from outside, inside the user namespace
//! that owns the container's namespaces, reached through the container's process itself
//! (ncx_core::nsenter::join_owner): not through the per-user holder, which may have been
//! restarted into another namespace since. A pid that is not a container's process (its
//! mount namespace is ours: a reused pid) is refused.
//!
//!   ncx-runtime stop --pid PID --signal N --timeout-ms T [--monitor-pid PID]
//!   ncx-runtime ps --pid PID
//!
//! `stop` sends the signal, waits (pidfd) up to T ms, escalates to SIGKILL, then waits for
//! the monitor to have recorded the exit and gone. It prints `{"killed":bool}`, and fails
//! when the process is still there after SIGKILL (never reports a stop that did not happen).

use crate::Args;
use ncx_core::nsenter::{self, EnterError};
use ncx_core::sys::RealSys;
use ncx_core::userns;

/// A failed control operation: exit code and message.
#[derive(Debug)]
pub struct CtlError {
    pub code: i32,
    pub message: String,
}

fn num(args: &Args, key: &str) -> Result<i32, CtlError> {
    args.require(key).parse().map_err(|_| CtlError { code: 125, message: format!("invalid --{key}") })
}

/// Into the user namespace that owns the container of `pid` (see the module comment).
fn join(pid: i32) -> Result<(), EnterError> {
    if nsenter::join_owner(&mut RealSys, pid)? {
        userns::become_root();
    }
    Ok(())
}

fn join_error(e: EnterError) -> CtlError {
    CtlError { code: if e.gone() { 1 } else { 125 }, message: e.to_string() }
}

fn pidfd(pid: i32) -> Option<i32> {
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    (fd >= 0).then_some(fd)
}

/// Wait until the process behind `fd` exits; false on timeout.
fn wait_exit(fd: i32, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    loop {
        let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if n < 0 && ncx_core::sys::errno() == libc::EINTR {
            continue;
        }
        return n > 0;
    }
}

fn signal(pid: i32, sig: i32) -> Result<(), CtlError> {
    if unsafe { libc::kill(pid, sig) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err(CtlError { code: if e.raw_os_error() == Some(libc::ESRCH) { 1 } else { 125 }, message: format!("cannot signal process {pid}: {e}") });
    }
    Ok(())
}

pub fn stop(args: &Args) -> Result<bool, CtlError> {
    let (pid, sig, timeout) = (num(args, "pid")?, num(args, "signal")?, num(args, "timeout-ms")?);
    let monitor = args.get("monitor-pid").and_then(|m| m.parse::<i32>().ok()).and_then(pidfd);
    let mut killed = false;
    // Gone already: nothing to signal, only the monitor to wait for.
    let target = match join(pid) {
        Ok(()) => pidfd(pid),
        Err(e) if e.gone() => None,
        Err(e) => return Err(join_error(e)),
    };
    if let Some(fd) = target {
        let graceful = sig != libc::SIGKILL && signal(pid, sig).is_ok() && wait_exit(fd, timeout.max(0));
        if !graceful {
            match signal(pid, libc::SIGKILL) {
                Ok(()) => {}
                Err(e) if e.code == 1 => {} // exited meanwhile
                Err(e) => return Err(e),
            }
            killed = true;
            if !wait_exit(fd, 10_000) {
                return Err(CtlError { code: 125, message: format!("process {pid} is still running 10 s after SIGKILL") });
            }
        }
    }
    if let Some(fd) = monitor {
        wait_exit(fd, 5_000);
    }
    Ok(killed)
}

fn field(stat: &str, n: usize) -> u64 {
    // Fields after "(comm)": state is field 3.
    stat.rfind(')').and_then(|i| stat[i + 2..].split(' ').nth(n - 3)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The processes in the PID namespace of `pid`, for `top`.
pub fn ps(args: &Args) -> Result<serde_json::Value, CtlError> {
    let pid = num(args, "pid")?;
    join(pid).map_err(join_error)?;
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).map_err(|e| CtlError { code: 1, message: format!("process {pid}: {e}") })?;
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let btime: u64 = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok())))
        .unwrap_or(0);
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").map_err(|e| CtlError { code: 125, message: e.to_string() })?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(p) = name.parse::<i32>() else { continue };
        if std::fs::read_link(format!("/proc/{p}/ns/pid")).ok().as_ref() != Some(&ns) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let uid = std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").and_then(|v| v.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()))))
            .unwrap_or(0);
        let raw = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        let mut cmd = String::from_utf8_lossy(&raw).replace('\0', " ").trim_end().to_string();
        if cmd.is_empty() {
            let comm = stat.find('(').zip(stat.rfind(')')).map(|(a, b)| stat[a + 1..b].to_string()).unwrap_or_default();
            cmd = format!("[{comm}]");
        }
        out.push(serde_json::json!({
            "uid": uid, "pid": p, "ppid": field(&stat, 4), "tty": field(&stat, 7),
            "time": (field(&stat, 14) + field(&stat, 15)) / tck,
            "stime": btime + field(&stat, 22) / tck, "cmd": cmd,
        }));
    }
    Ok(serde_json::Value::Array(out))
}
