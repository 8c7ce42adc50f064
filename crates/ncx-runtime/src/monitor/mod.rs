//! `ncx-runtime monitor`: the per-container monitor (conmon's job), one small
//! single-threaded process per running detached container.
//!
//!   ncx-runtime monitor --bundle DIR [--userns-pid PID] [--rootfs-mount TYPE:DATA]
//!       [--log-path FILE [--log-max-size BYTES] [--log-max-file N]] [--restart POLICY]
//!       [--health-cmd JSON --health-interval-ms N --health-timeout-ms N --health-retries N
//!        --health-start-period-ms N [--health-start-interval-ms N]] [--stdin-open [--stdin-once]] [--cleanup-bundle] [--exit-command JSON-ARGV]
//!       [--attach-wait]
//!
//! The process the CLI starts joins the user namespace and forks the monitor, which calls
//! setsid, becomes a child subreaper, and clones the container's PID 1 into new namespaces.
//! Once the container's process runs (or failed to start), the first process prints one
//! JSON line on stdout — `{"event":"started","pid":…,"monitorPid":…}` — or an error line
//! `{"error":…,"code":…}` on stderr, and exits; the monitor lives on with its stdio on
//! /dev/null, so no CLI process stays behind.
//!
//! The monitor writes, in the bundle directory: `state.json` (atomically; see
//! ncx_core::state), and the json-file log. A file named `stopping` in the bundle, created
//! by the CLI before it signals the container, means "stopped by the user": no restart.
//! A file named `restart-policy` (`update --restart`), read when the container exits,
//! replaces `--restart` from then on.
//!
//! It also listens on `attach.sock` in the bundle (see attach.rs): attached clients get the
//! container's output and feed its stdin (the pty master with a terminal, so the monitor
//! owns the TTY of `run -dit`). With `--attach-wait` (`start -a`, `run -it`) the output is
//! not read until the first client connects (at most ATTACH_WAIT), so it misses nothing.
//!
//! Here: the command line (`Config`) and the monitor's start and end. The container's start
//! is start.rs, health probes health.rs, the event loop (output, clients, signals, restarts)
//! event_loop.rs.


mod event_loop;
mod health;
mod start;
#[cfg(test)]
mod tests;

pub use health::probe;

use crate::attach;
use crate::signals::block_signals;
use crate::Args;
use event_loop::Monitor;
use health::HealthConfig;
use ncx_core::logfile::{parse_size, JsonLog};
use ncx_core::plan::RootfsMount;
use ncx_core::spec::Spec;
use ncx_core::state::{process_start, RestartPolicy, State};
use ncx_core::userns;
use start::start_container;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};


/// The bundle file `update --restart` writes (one policy, as `--restart` takes it).
const RESTART_POLICY_FILE: &str = "restart-policy";

/// Why the monitor could not do its job: an exit code (Docker's) and a message.
#[derive(Debug)]
pub struct MonitorError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn err(code: i32, message: String) -> MonitorError {
    MonitorError { code, message }
}

fn os_err(what: &str) -> MonitorError {
    err(125, format!("{what}: {}", std::io::Error::last_os_error()))
}


struct Config {
    bundle: String,
    spec: Spec,
    rootfs: String,
    rootfs_mount: Option<RootfsMount>,
    log: Option<(String, u64, u32)>,
    policy: RestartPolicy,
    health: Option<HealthConfig>,
    stdin_open: bool,
    /// `--stdin-once`: when the (first) attached client closes stdin, the container sees EOF.
    stdin_once: bool,
    attach_wait: bool,
    cleanup: bool,
    /// The container's cgroup (kept across restarts, removed when the monitor ends).
    cgroup: Option<crate::cgroup::Placement>,
    attach: Option<crate::net::NetSetup>,
    /// `--net-join PATH`: another container's network namespace.
    net_join: Option<String>,
    /// `--ns-join KIND=PATH,…`: other namespaces of another container (`--pid`/`--ipc container:X`).
    ns_join: Option<String>,
    /// `--shm-from /proc/PID/ns/mnt`: that process's /dev/shm is the container's (`--ipc container:X`).
    shm_from: Option<String>,
    /// `--oci-runtime PATH`: another OCI runtime makes the container's process (external.rs).
    external: Option<crate::external::External>,
}

/// How long `--attach-wait` holds the output back for the first client.
const ATTACH_WAIT: Duration = Duration::from_secs(10);

fn ms(args: &Args, key: &str, default: u64) -> u64 {
    args.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn parse_config(args: &Args) -> Result<Config, MonitorError> {
    let bundle = args.require("bundle").trim_end_matches('/').to_string();
    let spec = Spec::load(&format!("{bundle}/config.json")).map_err(|e| err(125, e.to_string()))?;
    let root = spec.root.clone().unwrap_or_default();
    let rootfs = if root.path.starts_with('/') { root.path.clone() } else { format!("{bundle}/{}", root.path) };
    let rootfs_mount = match args.get("rootfs-mount") {
        Some(t) => Some(RootfsMount::parse(t).ok_or_else(|| err(125, format!("invalid --rootfs-mount {t:?}")))?),
        None => None,
    };
    let log = match args.get("log-path") {
        Some(p) => {
            let size = match args.get("log-max-size") {
                Some(s) => parse_size(s).ok_or_else(|| err(125, format!("invalid --log-max-size {s:?}")))?,
                None => 0,
            };
            Some((p.to_string(), size, ms(args, "log-max-file", 1) as u32))
        }
        None => None,
    };
    let text = args.get("restart").unwrap_or("no");
    let policy = RestartPolicy::parse(text).ok_or_else(|| err(125, format!("invalid restart policy {text:?}")))?;
    let health = match args.get("health-cmd") {
        Some(json) => {
            let test: Vec<String> = serde_json::from_str(json).map_err(|e| err(125, format!("invalid --health-cmd: {e}")))?;
            Some(HealthConfig {
                test,
                interval: Duration::from_millis(ms(args, "health-interval-ms", 30_000).max(10)),
                timeout: Duration::from_millis(ms(args, "health-timeout-ms", 30_000).max(10)),
                retries: ms(args, "health-retries", 3) as u32,
                start_period: Duration::from_millis(ms(args, "health-start-period-ms", 0)),
                start_interval: Duration::from_millis(ms(args, "health-start-interval-ms", 0)),
            })
        }
        None => None,
    };
    Ok(Config { bundle, spec, rootfs, rootfs_mount, log, policy, health, stdin_open: args.has("--stdin-open"), stdin_once: args.has("--stdin-once"), attach_wait: args.has("--attach-wait"), cleanup: args.has("--cleanup-bundle"), cgroup: None, attach: crate::net::attach_args(args), net_join: args.get("net-join").map(str::to_string), ns_join: args.get("ns-join").map(str::to_string), shm_from: args.get("shm-from").map(str::to_string), external: crate::external::from_args(args) })
}

fn pipe() -> Result<(RawFd, RawFd), MonitorError> {
    let mut fds = [0 as RawFd; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(os_err("pipe"));
    }
    Ok((fds[0], fds[1]))
}

fn close(fd: Option<RawFd>) {
    if let Some(fd) = fd {
        unsafe { libc::close(fd) };
    }
}

fn dev_null() -> RawFd {
    unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }
}


/// Remove the bundle of a `--rm` container: renamed first, so listings stop showing it at
/// once, then deleted (we are root of the user namespace: subordinate-owned files go too).
fn remove_bundle(bundle: &str) {
    let path = std::path::Path::new(bundle);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else { return };
    let doomed = parent.join(format!(".rm-{}", name.to_string_lossy()));
    if std::fs::rename(path, &doomed).is_ok() {
        let _ = std::fs::remove_dir_all(&doomed);
    }
}

pub fn monitor(args: &Args) -> i32 {
    let cfg = match parse_config(args) {
        Ok(c) => c,
        Err(e) => crate::fail(&e.message, e.code),
    };
    crate::events::init(args); // --events FILE --event-template JSON
    // Published ports: bound in the host's network namespace before joining anything.
    let listeners = match crate::net::bind_ports(args) {
        Ok(l) => l,
        Err(e) => crate::fail(&e, 125),
    };
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            crate::fail(&e.to_string(), 125);
        }
    }
    // The CLI's child dies with the CLI: then the monitor's verdict finds no reader, and a
    // container whose creator was killed (SIGKILL mid-`run`) does not live on.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    let mut cfg = cfg;
    // (an external runtime places the container in cgroups itself, or not at all)
    cfg.cgroup = match cfg.external.is_none().then(|| crate::cgroup::prepare(&cfg.spec)).transpose() {
        Ok(p) => p.flatten(),
        Err(e) => crate::fail(&e, 125),
    };
    let (ready_r, ready_w) = match pipe() {
        Ok(p) => p,
        Err(e) => crate::fail(&e.message, e.code),
    };
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        crate::fail(&format!("fork: {}", std::io::Error::last_os_error()), 125);
    }
    if pid > 0 {
        // The CLI's child: wait for the monitor's verdict (one byte: 0 or the exit code).
        unsafe { libc::close(ready_w) };
        let mut b = [0u8; 1];
        let n = unsafe { libc::read(ready_r, b.as_mut_ptr() as *mut libc::c_void, 1) };
        return if n == 1 { b[0] as i32 } else { 125 };
    }
    unsafe {
        libc::close(ready_r);
        libc::setsid();
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::prctl(libc::PR_SET_NAME, c"ncx-monitor".as_ptr() as libc::c_ulong, 0, 0, 0);
        libc::chdir(c"/".as_ptr());
    }
    if let (Some(l), Some(a)) = (&listeners, &cfg.attach) {
        if let Err(e) = crate::net::spawn_forwarder(l, &a.forward_target(args)) {
            crate::fail(&e, 125);
        }
        for (fd, _) in &l.socks {
            unsafe { libc::close(*fd) };
        }
    }
    let ports = listeners.as_ref().map(|l| l.report()).unwrap_or(serde_json::Value::Array(vec![]));
    // Block the signals we take through the signalfd before the container exists.
    let (set, _) = block_signals(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGPIPE]);
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    let me = std::process::id() as i32;
    let state_path = format!("{}/state.json", cfg.bundle);
    let log = cfg.log.as_ref().and_then(|(p, size, files)| JsonLog::open(p, *size, *files).ok());
    let state = State { monitor_pid: me, monitor_start: process_start(me).unwrap_or(0), ..Default::default() };
    let mut m = Monitor::new(cfg, state, state_path, log);
    m.listener = attach::listen(&m.cfg.bundle);
    if m.cfg.attach_wait {
        m.attach_wait = Some(Instant::now() + ATTACH_WAIT);
    }
    let verdict = match start_container(&m.cfg) {
        Ok(r) => {
            let pid = r.pid;
            m.on_started(r);
            println!("{}", serde_json::json!({ "event": "started", "pid": pid, "monitorPid": me, "ports": ports }));
            0u8
        }
        Err(e) => {
            eprintln!("{}", serde_json::json!({ "error": e.message, "code": e.code }));
            e.code.clamp(1, 255) as u8
        }
    };
    // Detach from the CLI: stdio to /dev/null, then the verdict releases the CLI's child.
    let null = dev_null();
    for fd in 0..3 {
        unsafe { libc::dup2(null, fd) };
    }
    let delivered = unsafe {
        libc::close(null);
        let n = libc::write(ready_w, [verdict].as_ptr() as *const libc::c_void, 1);
        libc::close(ready_w);
        n == 1
    };
    if verdict == 0 && !delivered {
        // Nobody is waiting for this start any more: undo it (the CLI cleans up the record).
        if let Some(r) = &m.running {
            unsafe {
                libc::kill(r.pid, libc::SIGKILL);
                libc::waitpid(r.pid, std::ptr::null_mut(), 0);
            }
        }
        let _ = std::fs::remove_file(&m.state_path);
        if let Some(ext) = &m.cfg.external {
            ext.delete();
        }
        if let Some(c) = m.cfg.cgroup.take() {
            c.destroy();
        }
        return 125;
    }
    if verdict == 0 {
        drop_inherited_text_pages();
        m.event_loop(sfd);
    }
    if let Some(c) = m.cfg.cgroup.take() {
        c.destroy();
    }
    if m.cfg.cleanup {
        remove_bundle(&m.cfg.bundle);
        crate::events::record_if(true, "destroy", None); // `--rm`: the monitor removed it
    } else if m.listener.is_some() {
        let _ = std::fs::remove_file(format!("{}/{}", m.cfg.bundle, attach::SOCKET));
    }
    if let Some(cmd) = args.get("exit-command") {
        run_exit_command(cmd);
    }
    0
}

/// `--exit-command JSON-ARGV` (conmon's exit command): run once the container is gone for
/// good, detached, output discarded.
pub fn run_exit_command(json: &str) {
    let Ok(argv) = serde_json::from_str::<Vec<String>>(json) else { return };
    let Some((prog, rest)) = argv.split_first() else { return };
    let mut cmd = Command::new(prog);
    cmd.args(rest).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    unsafe {
        cmd.pre_exec(|| {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::setsid();
            Ok(())
        });
    }
    let _ = cmd.spawn();
}

/// The monitor is forked from the process that set the container up, and inherits the page
/// table entries of every code page that process ran (namespace entry, mounts, seccomp
/// compilation...): they count in its RSS for as long as it lives, though the monitor never
/// runs that code again. Read-only executable mappings are never written, so dropping their
/// entries loses nothing: the few pages the event loop needs fault back in from the page cache.
fn drop_inherited_text_pages() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return };
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else { continue };
        // Private, executable, not writable, file-backed ([vdso] and the like are not).
        if perms != "r-xp" || !line.contains('/') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else { continue };
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}
