//! Health checks: the probe schedule (Docker's intervals), and the probe process, re-executed
//! from a sealed copy of the runtime into the container's cgroup and namespaces with its
//! process settings and seccomp profile, its output captured up to HEALTH_OUTPUT_MAX.

use super::{close, dev_null, pipe};
use crate::run::exec_process;
use crate::supervise::exit_code;
use crate::Args;
use ncx_core::nsenter;
use ncx_core::spec::Process;
use ncx_core::state::HEALTH_OUTPUT_MAX;
use ncx_core::sys::{errno, RealSys};
use std::os::fd::RawFd;
use std::time::{Duration, Instant, SystemTime};

pub(super) struct HealthConfig {
    pub(super) test: Vec<String>,
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
    pub(super) retries: u32,
    pub(super) start_period: Duration,
    /// Time between probes while the container is starting within its start period (0: interval).
    pub(super) start_interval: Duration,
}

/// Docker's probe interval: `--health-start-interval` while the container is still
/// `starting` within its start period, else `--health-interval`.
pub(super) fn probe_interval(h: &HealthConfig, starting: bool, up_for: Option<Duration>) -> Duration {
    let in_start = up_for.is_some_and(|t| t < h.start_period);
    if starting && in_start && !h.start_interval.is_zero() {
        h.start_interval
    } else {
        h.interval
    }
}


pub(super) struct Probe {
    pub(super) pid: i32,
    pub(super) out: Option<RawFd>,
    pub(super) output: Vec<u8>,
    pub(super) start: SystemTime,
    pub(super) deadline: Instant,
    pub(super) timed_out: bool,
}

/// What confines a probe as it does the container: its seccomp profile and its cgroup.
pub(super) struct Confinement<'a> {
    pub(super) seccomp: Option<&'a ncx_core::spec::Seccomp>,
    pub(super) cgroup: Option<&'a str>,
}

/// Fork a health probe, which re-executes itself from a sealed copy of the runtime
/// (`ncx-runtime probe`, see `probe`): it joins the container's namespaces (we already are in
/// its user namespace), forks into its PID namespace and execs the test with the
/// container's process settings. The probe dies with the intermediate process on timeout.
pub(super) fn spawn_probe(container: i32, process: &Process, confine: Confinement, test: &[String], timeout: Duration) -> Option<Probe> {
    let args: Vec<String> = match test.first().map(String::as_str) {
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test.get(1).cloned().unwrap_or_default()],
        Some("CMD") => test[1..].to_vec(),
        _ => return None,
    };
    let (r, w) = pipe().ok()?;
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        close(Some(r));
        close(Some(w));
        return None;
    }
    if pid == 0 {
        unsafe {
            let null = dev_null();
            libc::dup2(null, 0);
            libc::dup2(w, 1);
            libc::dup2(w, 2);
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        }
        let mut p = process.clone();
        p.args = args;
        p.terminal = false;
        let state = serde_json::json!({ "container": container, "process": p, "seccomp": confine.seccomp, "cgroup": confine.cgroup });
        // From a sealed copy of the runtime (sealed.rs), as `ncx-runtime probe`.
        probe_fail(crate::sealed::reexec_with_state("probe", &state, &[]));
    }
    close(Some(w));
    unsafe { libc::fcntl(r, libc::F_SETFL, libc::O_NONBLOCK) };
    Some(Probe { pid, out: Some(r), output: Vec::new(), start: SystemTime::now(), deadline: Instant::now() + timeout, timed_out: false })
}

pub(super) fn probe_fail(msg: String) -> ! {
    let line = format!("{msg}\n");
    unsafe {
        libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
        libc::_exit(125);
    }
}

/// `ncx-runtime probe --state-fd N`: a health probe's process, run from a sealed copy (see
/// `spawn_probe`): into the container's cgroup, out of its reach, into its namespaces, then
/// the test in a child (the PID namespace applies to children); exits with the test's code.
pub fn probe(args: &Args) -> ! {
    let state = crate::sealed::read_state(args).unwrap_or_else(|e| probe_fail(e));
    let container = state["container"].as_i64().unwrap_or(0) as i32;
    let process: Process = serde_json::from_value(state["process"].clone()).unwrap_or_else(|e| probe_fail(format!("invalid probe state: {e}")));
    let seccomp: Option<ncx_core::spec::Seccomp> = serde_json::from_value(state["seccomp"].clone()).unwrap_or_default();
    // Into the container's cgroup first: from inside its cgroup namespace it would be refused.
    // Best effort, as `exec` without --cgroup-strict (no warning per probe: nobody reads it).
    if let Some(d) = state["cgroup"].as_str() {
        let _ = std::fs::write(format!("{d}/cgroup.procs"), "0");
    }
    // Out of the container's reach before entering it (see run::undumpable).
    if let Err(e) = crate::run::undumpable(&process) {
        probe_fail(e);
    }
    if let Err(e) = nsenter::enter(&mut RealSys, container) {
        probe_fail(format!("cannot enter the container: {e}"));
    }
    let gc = unsafe { libc::fork() };
    if gc == 0 {
        exec_process(&process, seccomp.as_ref(), -1, true, true);
    }
    let mut st = 0;
    unsafe {
        libc::waitpid(gc, &mut st, 0);
        libc::_exit(exit_code(st));
    }
}

pub(super) fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}


/// Append what `fd` has to `buf`, keeping at most HEALTH_OUTPUT_MAX bytes; false at EOF.
pub(super) fn read_capped(fd: RawFd, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr() as *mut libc::c_void, chunk.len()) };
        if n <= 0 {
            return n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR);
        }
        let room = HEALTH_OUTPUT_MAX.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..(n as usize).min(room)]);
    }
}
