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

use crate::attach;
use crate::run::{child, exec_process};
use crate::signals::block_signals;
use crate::supervise::exit_code;
use crate::Args;
use ncx_core::logfile::{parse_size, JsonLog, LineSplitter};
use ncx_core::nsenter;
use ncx_core::plan::RootfsMount;
use ncx_core::spec::{Process, Spec};
use ncx_core::state::{backoff_ms, process_start, rfc3339_nano, HealthLog, HealthState, RestartPolicy, State, BACKOFF_RESET_MS, HEALTH_OUTPUT_MAX};
use crate::sys::Sys;
use ncx_core::sys::{errno, RealSys};
use ncx_core::userns;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

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

struct HealthConfig {
    test: Vec<String>,
    interval: Duration,
    timeout: Duration,
    retries: u32,
    start_period: Duration,
    /// Time between probes while the container is starting within its start period (0: interval).
    start_interval: Duration,
}

/// Docker's probe interval: `--health-start-interval` while the container is still
/// `starting` within its start period, else `--health-interval`.
fn probe_interval(h: &HealthConfig, starting: bool, up_for: Option<Duration>) -> Duration {
    let in_start = up_for.is_some_and(|t| t < h.start_period);
    if starting && in_start && !h.start_interval.is_zero() {
        h.start_interval
    } else {
        h.interval
    }
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

/// The container's process and the monitor's ends of its stdio.
struct Running {
    pid: i32,
    /// stdout pipe, or the pty master with a terminal.
    out: Option<RawFd>,
    err: Option<RawFd>,
    /// Write end of a stdin pipe held open (`-i` without `-t`): the container sees no EOF.
    stdin: Option<RawFd>,
    tty: bool,
    started: Instant,
}

/// How long `--attach-wait` holds the output back for the first client.
const ATTACH_WAIT: Duration = Duration::from_secs(10);

struct Probe {
    pid: i32,
    out: Option<RawFd>,
    output: Vec<u8>,
    start: SystemTime,
    deadline: Instant,
    timed_out: bool,
}

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

/// Clone the container's PID 1 into new namespaces (a fresh PID namespace on every start,
/// which `unshare` could not give twice) and wait until it has exec'd or failed.
fn start_container(cfg: &Config) -> Result<Running, MonitorError> {
    if let Some(ext) = &cfg.external {
        return start_external(cfg, ext);
    }
    start_with(&mut crate::sys::RealSys, cfg)
}

/// `start_container` with ncx's own runtime, every call through `sys`. On an error every
/// descriptor it opened is closed (the monitor lives on, and tries again on a restart).
fn start_with(sys: &mut dyn Sys, cfg: &Config) -> Result<Running, MonitorError> {
    let mut spec = cfg.spec.clone();
    let own_userns = sys.own_userns(&mut spec).map_err(|e| err(125, e))?;
    let mut opened: Vec<RawFd> = own_userns.into_iter().collect();
    let fail = |sys: &mut dyn Sys, opened: &[RawFd], e: MonitorError| -> Result<Running, MonitorError> {
        for fd in opened {
            sys.close(*fd);
        }
        Err(e)
    };
    let mut flags = libc::CLONE_NEWPID;
    // (the cgroup namespace is the child's own, see run::child)
    for (kind, flag) in [("uts", libc::CLONE_NEWUTS), ("ipc", libc::CLONE_NEWIPC), ("network", libc::CLONE_NEWNET)] {
        if cfg.spec.has_namespace(kind) {
            flags |= flag;
        }
    }
    if let Some(path) = &cfg.net_join {
        // The monitor itself moves there (again on every restart), so its clone shares it.
        if let Err(e) = sys.join_netns(path) {
            return fail(sys, &opened, err(125, e));
        }
        flags &= !libc::CLONE_NEWNET;
    }
    match sys.shared_namespaces(&cfg.spec, cfg.ns_join.as_deref()) {
        Ok(shared) => flags &= !shared,
        Err(e) => return fail(sys, &opened, err(125, e)),
    }
    let terminal = cfg.spec.process.as_ref().map(|p| p.terminal).unwrap_or(false);
    let os = |what: &str, e: i32| err(125, format!("{what}: {}", std::io::Error::from_raw_os_error(e)));
    let pair = match sys.socketpair() {
        Ok(p) => p,
        Err(e) => return fail(sys, &opened, os("socketpair", e)),
    };
    opened.extend([pair.0, pair.1]);
    // (ours, theirs) for stdout, stderr and stdin.
    let pipe = |sys: &mut dyn Sys, opened: &mut Vec<RawFd>| -> Result<(RawFd, RawFd), i32> {
        let p = sys.pipe()?;
        opened.extend([p.0, p.1]);
        Ok(p)
    };
    let (out, err_, stdin, gate) = match (|| {
        let (out, err_) = if terminal { (None, None) } else { (Some(pipe(sys, &mut opened)?), Some(pipe(sys, &mut opened)?)) };
        let stdin = if !terminal && cfg.stdin_open { Some(pipe(sys, &mut opened)?) } else { None };
        let gate = if cfg.attach.is_some() { Some(pipe(sys, &mut opened)?) } else { None };
        Ok::<_, i32>((out, err_, stdin, gate))
    })() {
        Ok(p) => p,
        Err(e) => return fail(sys, &opened, os("pipe", e)),
    };
    let null = sys.open_null();
    opened.push(null);
    let pid = match sys.clone_into(flags, cfg.cgroup.as_ref()) {
        Ok(pid) => pid,
        Err(e) => return fail(sys, &opened, os("cannot create the container's namespaces", e)),
    };
    if pid == 0 {
        // The container's PID 1 (never with the tests' fake): real calls from here on.
        unsafe {
            libc::close(pair.0);
            libc::dup2(stdin.map(|p| p.0).unwrap_or(null), 0);
            libc::dup2(out.map(|p| p.1).unwrap_or(null), 1);
            libc::dup2(err_.map(|p| p.1).unwrap_or(null), 2);
        }
        close(gate.map(|g| g.1));
        child(&spec, &cfg.rootfs, cfg.rootfs_mount.as_ref(), pair.1, true, gate.map(|g| g.0), cfg.shm_from.as_deref());
    }
    // The child's ends (and what it alone needed) go; ours stay until the verdict.
    let theirs: Vec<RawFd> = own_userns.into_iter().chain([pair.1, null]).chain([out.map(|p| p.1), err_.map(|p| p.1), stdin.map(|p| p.0)].into_iter().flatten()).collect();
    for fd in &theirs {
        sys.close(*fd);
    }
    opened.retain(|f| !theirs.contains(f));
    if let (Some((gr, gw)), Some(a)) = (gate, &cfg.attach) {
        sys.close(gr);
        opened.retain(|f| *f != gr);
        if let Err(e) = sys.net_attach(a, pid) {
            sys.close(gw);
            sys.close(pair.0);
            opened.retain(|f| *f != gw && *f != pair.0);
            sys.kill(pid, libc::SIGKILL);
            sys.waitpid(pid);
            return fail(sys, &opened, err(125, e));
        }
        sys.write(gw, b"g");
        sys.close(gw);
        opened.retain(|f| *f != gw);
    }
    let (master, failure) = sys.receive(pair.0);
    sys.close(pair.0);
    opened.retain(|f| *f != pair.0);
    if let Some((code, msg)) = failure {
        sys.waitpid(pid);
        opened.extend(master);
        return fail(sys, &opened, err(code, msg));
    }
    let out = master.or(out.map(|p| p.0));
    for fd in [out, err_.map(|p| p.0)].into_iter().flatten() {
        sys.set_nonblock(fd);
    }
    Ok(Running { pid, out, err: err_.map(|p| p.0), stdin: stdin.map(|p| p.1), tty: terminal, started: Instant::now() })
}

/// `start_container` through an external OCI runtime: the same pipes, its process.
fn start_external(cfg: &Config, ext: &crate::external::External) -> Result<Running, MonitorError> {
    if cfg.shm_from.is_some() {
        return Err(err(125, format!("--ipc container: is not supported with --runtime {}", ext.name)));
    }
    let terminal = cfg.spec.process.as_ref().map(|p| p.terminal).unwrap_or(false);
    let (out, err_) = if terminal { (None, None) } else { (Some(pipe()?), Some(pipe()?)) };
    let stdin = if !terminal && cfg.stdin_open { Some(pipe()?) } else { None };
    let null = dev_null();
    let spec_file = format!("{}/config.json", cfg.bundle);
    let launch = crate::external::Launch {
        spec_file: &spec_file,
        rootfs: &cfg.rootfs,
        rootfs_mount: cfg.rootfs_mount.as_ref(),
        stdio: [stdin.map(|p| p.0).unwrap_or(null), out.map(|p| p.1).unwrap_or(null), err_.map(|p| p.1).unwrap_or(null)],
        terminal,
        net_join: cfg.net_join.as_deref(),
        ns_join: cfg.ns_join.as_deref(),
        attach: cfg.attach.as_ref(),
    };
    let started = ext.start(&launch);
    close(Some(null));
    close(out.map(|p| p.1));
    close(err_.map(|p| p.1));
    close(stdin.map(|p| p.0));
    let s = match started {
        Ok(s) => s,
        Err((code, msg)) => {
            close(out.map(|p| p.0));
            close(err_.map(|p| p.0));
            close(stdin.map(|p| p.1));
            return Err(err(code, msg));
        }
    };
    let out = s.master.or(out.map(|p| p.0));
    for fd in [out, err_.map(|p| p.0)].into_iter().flatten() {
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    }
    Ok(Running { pid: s.pid, out, err: err_.map(|p| p.0), stdin: stdin.map(|p| p.1), tty: terminal, started: Instant::now() })
}

/// What confines a probe as it does the container: its seccomp profile and its cgroup.
struct Confinement<'a> {
    seccomp: Option<&'a ncx_core::spec::Seccomp>,
    cgroup: Option<&'a str>,
}

/// Fork a health probe, which re-executes itself from a sealed copy of the runtime
/// (`ncx-runtime probe`, see `probe`): it joins the container's namespaces (we already are in
/// its user namespace), forks into its PID namespace and execs the test with the
/// container's process settings. The probe dies with the intermediate process on timeout.
fn spawn_probe(container: i32, process: &Process, confine: Confinement, test: &[String], timeout: Duration) -> Option<Probe> {
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

fn probe_fail(msg: String) -> ! {
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

fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

struct Monitor {
    cfg: Config,
    state: State,
    state_path: String,
    log: Option<JsonLog>,
    out_split: LineSplitter,
    err_split: LineSplitter,
    running: Option<Running>,
    probe: Option<Probe>,
    next_probe: Option<Instant>,
    restart_at: Option<Instant>,
    consecutive: u32,
    stop_requested: bool,
    listener: Option<RawFd>,
    clients: Vec<RawFd>,
    /// Output is held back until this deadline or the first client (`--attach-wait`).
    attach_wait: Option<Instant>,
}

impl Monitor {
    fn save(&self) {
        let _ = self.state.write(&self.state_path);
    }

    fn log_entry(&mut self, stream: &'static str, data: &[u8]) {
        let (log, split) = match stream {
            "stdout" => (&mut self.log, &mut self.out_split),
            _ => (&mut self.log, &mut self.err_split),
        };
        let now = SystemTime::now();
        split.feed(data, &mut |line| {
            if let Some(l) = log.as_mut() {
                let _ = l.write_entry(stream, line, now);
            }
        });
    }

    /// Read what is available on the container's stdout/stderr; false at EOF.
    fn pump(&mut self, fd: RawFd, stream: &'static str) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n > 0 {
                self.log_entry(stream, &buf[..n as usize]);
                self.broadcast(if stream == "stdout" { attach::STDOUT } else { attach::STDERR }, &buf[..n as usize]);
                continue;
            }
            // EAGAIN: drained for now. 0 (EOF) or EIO (pty without slave): closed.
            return n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR);
        }
    }

    /// Send to every attached client; drop those that are gone.
    fn broadcast(&mut self, kind: u8, data: &[u8]) {
        self.clients.retain(|&fd| {
            let ok = attach::send(fd, kind, data);
            if !ok {
                close(Some(fd));
            }
            ok
        });
    }

    fn accept_clients(&mut self) {
        let Some(l) = self.listener else { return };
        while let Some(fd) = attach::accept(l) {
            self.clients.push(fd);
            self.attach_wait = None;
        }
    }

    /// The container exited while `--attach-wait` still holds its output: give the client
    /// the rest of the wait to connect, so it gets the output and the exit code.
    fn await_client(&mut self) {
        let (Some(deadline), Some(l)) = (self.attach_wait, self.listener) else { return };
        while self.attach_wait.is_some() {
            let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32;
            if left <= 0 {
                self.attach_wait = None;
                return;
            }
            let mut p = libc::pollfd { fd: l, events: libc::POLLIN, revents: 0 };
            unsafe { libc::poll(&mut p, 1, left) };
            self.accept_clients();
        }
    }

    /// A message from an attached client: stdin, stdin closed, resize, signal.
    fn on_client(&mut self, fd: RawFd) {
        let mut buf = vec![0u8; attach::MAX_MESSAGE];
        loop {
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), libc::MSG_DONTWAIT) };
            if n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR) {
                return;
            }
            if n <= 0 {
                self.clients.retain(|&c| c != fd);
                close(Some(fd));
                return;
            }
            let data = &buf[1..n as usize];
            let Some(r) = self.running.as_mut() else { continue };
            match buf[0] {
                attach::STDIN => {
                    let target = if r.tty { r.out } else { r.stdin };
                    if let Some(t) = target {
                        attach::write_all(t, data);
                    }
                }
                attach::CLOSE_STDIN if !r.tty && self.cfg.stdin_once => close(r.stdin.take()),
                attach::RESIZE if r.tty && data.len() >= 4 => {
                    let ws = libc::winsize { ws_row: u16::from_le_bytes([data[0], data[1]]), ws_col: u16::from_le_bytes([data[2], data[3]]), ws_xpixel: 0, ws_ypixel: 0 };
                    if let Some(m) = r.out {
                        unsafe { libc::ioctl(m, libc::TIOCSWINSZ, &ws) };
                    }
                }
                attach::SIGNAL if !data.is_empty() => unsafe {
                    libc::kill(r.pid, data[0] as i32);
                },
                _ => {}
            }
        }
    }

    fn on_started(&mut self, r: Running) {
        crate::events::record_if(true, "start", None); // `ncx events` (src/engine/events.ts)
        self.state.status = "running".into();
        self.state.pid = r.pid;
        self.state.started_at = rfc3339_nano(SystemTime::now());
        self.state.finished_at.clear();
        self.state.exit_code = 0;
        self.state.error.clear();
        if let Some(h) = &self.cfg.health {
            self.state.health = Some(HealthState::starting());
            self.next_probe = Some(Instant::now() + if h.start_interval.is_zero() || h.start_period.is_zero() { h.interval } else { h.start_interval });
        }
        self.running = Some(r);
        self.save();
    }

    fn on_exit(&mut self, code: i32) {
        if self.running.is_none() {
            return;
        }
        self.await_client();
        let Some(r) = self.running.take() else { return };
        if let Some(ext) = &self.cfg.external {
            ext.delete();
        }
        crate::events::record_if(true, "die", Some(code)); // `ncx events` (src/engine/events.ts)
        for (fd, stream) in [(r.out, "stdout"), (r.err, "stderr")] {
            if let Some(fd) = fd {
                self.pump(fd, stream);
                close(Some(fd));
            }
        }
        let (log, out, errs) = (&mut self.log, &mut self.out_split, &mut self.err_split);
        let now = SystemTime::now();
        out.flush(&mut |l| {
            if let Some(log) = log.as_mut() {
                let _ = log.write_entry("stdout", l, now);
            }
        });
        errs.flush(&mut |l| {
            if let Some(log) = log.as_mut() {
                let _ = log.write_entry("stderr", l, now);
            }
        });
        close(r.stdin);
        if let Some(p) = self.probe.take() {
            unsafe { libc::kill(p.pid, libc::SIGKILL) };
            close(p.out);
        }
        self.next_probe = None;
        self.state.pid = 0;
        self.state.exit_code = code;
        self.state.oom_killed = self.cfg.cgroup.as_ref().map(|c| c.oom_killed()).unwrap_or(false);
        if let Some(c) = self.cfg.cgroup.as_mut() {
            c.rebase();
        }
        self.state.finished_at = rfc3339_nano(SystemTime::now());
        for fd in std::mem::take(&mut self.clients) {
            attach::send(fd, attach::EXIT, &code.to_le_bytes());
            close(Some(fd));
        }
        let stopped = self.stop_requested || std::path::Path::new(&format!("{}/stopping", self.cfg.bundle)).exists();
        // `update --restart` while it ran: the policy from then on.
        if let Some(policy) = std::fs::read_to_string(format!("{}/{RESTART_POLICY_FILE}", self.cfg.bundle)).ok().and_then(|t| RestartPolicy::parse(t.trim())) {
            self.cfg.policy = policy;
        }
        if self.cfg.policy.should_restart(code, self.state.restart_count, stopped) {
            if r.started.elapsed() >= Duration::from_millis(BACKOFF_RESET_MS) {
                self.consecutive = 0;
            }
            self.restart_at = Some(Instant::now() + Duration::from_millis(backoff_ms(self.consecutive)));
            self.consecutive += 1;
            self.state.status = "restarting".into();
        } else {
            self.state.status = "exited".into();
        }
        self.save();
    }

    fn on_probe_done(&mut self, code: i32) {
        let Some(mut p) = self.probe.take() else { return };
        if let Some(fd) = p.out.take() {
            read_capped(fd, &mut p.output);
            close(Some(fd));
        }
        let Some(h) = &self.cfg.health else { return };
        let (code, output) = if p.timed_out {
            (-1, format!("Health check exceeded timeout ({})", go_duration(h.timeout)))
        } else {
            (code, String::from_utf8_lossy(&p.output).into_owned())
        };
        let in_start = self.running.as_ref().map(|r| r.started.elapsed() < h.start_period).unwrap_or(false);
        let entry = HealthLog { start: rfc3339_nano(p.start), end: rfc3339_nano(SystemTime::now()), exit_code: code, output };
        let retries = h.retries;
        if self.running.is_some() {
            self.state.health.get_or_insert_with(HealthState::starting).record(entry, in_start, retries);
            let starting = self.state.health.as_ref().is_some_and(|hs| hs.status == "starting");
            self.next_probe = Some(Instant::now() + probe_interval(h, starting, self.running.as_ref().map(|r| r.started.elapsed())));
            self.save();
        }
    }

    fn reap(&mut self) {
        loop {
            let mut st = 0;
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            if self.running.as_ref().map(|r| r.pid) == Some(pid) {
                self.on_exit(exit_code(st));
            } else if self.probe.as_ref().map(|p| p.pid) == Some(pid) {
                self.on_probe_done(exit_code(st));
            }
        }
    }

    fn timers(&mut self) {
        let now = Instant::now();
        if self.attach_wait.is_some_and(|t| t <= now) {
            self.attach_wait = None;
        }
        if self.restart_at.is_some_and(|t| t <= now) {
            self.restart_at = None;
            self.state.restart_count += 1;
            match start_container(&self.cfg) {
                Ok(r) => self.on_started(r),
                Err(e) => {
                    self.state.status = "exited".into();
                    self.state.exit_code = e.code;
                    self.state.error = e.message;
                    self.save();
                }
            }
        }
        if let Some(p) = self.probe.as_mut() {
            if !p.timed_out && p.deadline <= now {
                p.timed_out = true;
                unsafe { libc::kill(p.pid, libc::SIGKILL) };
            }
        }
        if self.probe.is_none() && self.next_probe.is_some_and(|t| t <= now) {
            self.next_probe = None;
            if let (Some(r), Some(h)) = (self.running.as_ref(), self.cfg.health.as_ref()) {
                let process = self.cfg.spec.process.clone().unwrap_or_default();
                let confine = Confinement { seccomp: self.cfg.spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()), cgroup: self.cfg.cgroup.as_ref().map(|c| c.dir.as_str()) };
                self.probe = spawn_probe(r.pid, &process, confine, &h.test, h.timeout);
                if self.probe.is_none() {
                    self.next_probe = Some(now + h.interval);
                }
            }
        }
    }

    fn poll_timeout(&self) -> i32 {
        let now = Instant::now();
        let deadlines = [self.restart_at, self.next_probe, self.probe.as_ref().filter(|p| !p.timed_out).map(|p| p.deadline), self.attach_wait];
        match deadlines.iter().flatten().min() {
            Some(t) => t.saturating_duration_since(now).as_millis().min(i32::MAX as u128) as i32 + 1,
            None => -1,
        }
    }

    fn done(&self) -> bool {
        self.running.is_none() && self.restart_at.is_none()
    }

    fn event_loop(&mut self, sfd: RawFd) {
        while !self.done() {
            let mut fds = vec![libc::pollfd { fd: sfd, events: libc::POLLIN, revents: 0 }];
            let mut kinds: Vec<u8> = vec![b's'];
            if let Some(l) = self.listener {
                fds.push(libc::pollfd { fd: l, events: libc::POLLIN, revents: 0 });
                kinds.push(b'l');
            }
            for &c in &self.clients {
                fds.push(libc::pollfd { fd: c, events: libc::POLLIN, revents: 0 });
                kinds.push(b'c');
            }
            if let Some(r) = self.running.as_ref().filter(|_| self.attach_wait.is_none()) {
                for (fd, k) in [(r.out, b'o'), (r.err, b'e')] {
                    if let Some(fd) = fd {
                        fds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
                        kinds.push(k);
                    }
                }
            }
            if let Some(fd) = self.probe.as_ref().and_then(|p| p.out) {
                fds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
                kinds.push(b'h');
            }
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, self.poll_timeout()) };
            if n < 0 && errno() != libc::EINTR {
                return;
            }
            for (pfd, kind) in fds.iter().zip(kinds) {
                if pfd.revents == 0 {
                    continue;
                }
                match kind {
                    b'o' | b'e' => {
                        let stream = if kind == b'o' { "stdout" } else { "stderr" };
                        if !self.pump(pfd.fd, stream) {
                            if let Some(r) = self.running.as_mut() {
                                if kind == b'o' {
                                    r.out = None;
                                } else {
                                    r.err = None;
                                }
                            }
                            close(Some(pfd.fd));
                        }
                    }
                    b'l' => self.accept_clients(),
                    b'c' => self.on_client(pfd.fd),
                    b'h' => {
                        if let Some(p) = self.probe.as_mut() {
                            if !read_capped(pfd.fd, &mut p.output) {
                                close(p.out.take());
                            }
                        }
                    }
                    _ => self.on_signal(sfd),
                }
            }
            self.timers();
        }
    }

    fn on_signal(&mut self, sfd: RawFd) {
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let n = unsafe { libc::read(sfd, &mut info as *mut _ as *mut libc::c_void, std::mem::size_of::<libc::signalfd_siginfo>()) };
        if n <= 0 {
            return;
        }
        match info.ssi_signo as i32 {
            libc::SIGCHLD => self.reap(),
            // Asked to stop (e.g. at shutdown): pass it on, and do not restart.
            sig @ (libc::SIGTERM | libc::SIGINT) => {
                self.stop_requested = true;
                self.restart_at = None;
                if let Some(r) = &self.running {
                    unsafe { libc::kill(r.pid, sig) };
                }
                if self.running.is_none() && self.state.status == "restarting" {
                    self.state.status = "exited".into();
                    self.save();
                }
            }
            _ => {}
        }
    }
}

/// Append what `fd` has to `buf`, keeping at most HEALTH_OUTPUT_MAX bytes; false at EOF.
fn read_capped(fd: RawFd, buf: &mut Vec<u8>) -> bool {
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
    let mut m = Monitor {
        state: State { monitor_pid: me, monitor_start: process_start(me).unwrap_or(0), ..Default::default() },
        state_path,
        log,
        out_split: LineSplitter::default(),
        err_split: LineSplitter::default(),
        running: None,
        probe: None,
        next_probe: None,
        restart_at: None,
        consecutive: 0,
        stop_requested: false,
        listener: None,
        clients: Vec::new(),
        attach_wait: None,
        cfg,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{args, RecordingSys};

    /// A bundle directory with a config.json (removed on drop).
    struct Bundle(std::path::PathBuf);

    impl Bundle {
        fn new(name: &str, terminal: bool) -> Bundle {
            let dir = std::env::temp_dir().join(format!("ncx-monitor-test-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let spec = serde_json::json!({
                "root": { "path": "rootfs" },
                "process": { "args": ["sleep", "1"], "terminal": terminal },
                "linux": { "namespaces": [{ "type": "pid" }, { "type": "uts" }, { "type": "ipc" }, { "type": "network" }, { "type": "mount" }] },
            });
            std::fs::write(dir.join("config.json"), spec.to_string()).unwrap();
            Bundle(dir)
        }
        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
        fn config(&self, extra: &[(&str, &str)], flags: &[&str]) -> Config {
            let mut pairs = vec![("bundle", self.path())];
            pairs.extend_from_slice(extra);
            parse_config(&args(&pairs, flags)).unwrap()
        }
    }

    impl Drop for Bundle {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_command_line_becomes_the_monitors_config() {
        let b = Bundle::new("config", false);
        let cfg = b.config(&[("restart", "on-failure:3"), ("log-path", "/l/c.log"), ("log-max-size", "10k"), ("log-max-file", "2"), ("health-cmd", r#"["CMD","true"]"#), ("health-interval-ms", "5")], &["--stdin-open", "--cleanup-bundle"]);
        assert_eq!(cfg.rootfs, format!("{}/rootfs", b.path()), "a relative root is the bundle's");
        assert_eq!(cfg.policy, RestartPolicy::OnFailure(3));
        assert_eq!(cfg.log, Some(("/l/c.log".to_string(), 10 * 1024, 2)));
        assert!(cfg.stdin_open && cfg.cleanup && !cfg.stdin_once && !cfg.attach_wait);
        let h = cfg.health.unwrap();
        assert_eq!(h.test, ["CMD", "true"]);
        assert_eq!(h.interval, Duration::from_millis(10), "an interval is at least 10 ms");
        assert_eq!((h.timeout, h.retries), (Duration::from_secs(30), 3), "Docker's defaults");
        for (k, v, why) in [("restart", "sometimes", "invalid restart policy"), ("log-max-size", "big", "invalid --log-max-size"), ("health-cmd", "true", "invalid --health-cmd"), ("rootfs-mount", "x", "invalid --rootfs-mount")] {
            let mut pairs = vec![("bundle", b.path()), (k, v)];
            if k == "log-max-size" {
                pairs.push(("log-path", "/l"));
            }
            let e = parse_config(&args(&pairs, &[])).err().unwrap();
            assert!(e.message.contains(why) && e.code == 125, "{k}: {}", e.message);
        }
    }

    #[test]
    fn a_container_starts_with_pipes_whose_child_ends_are_closed() {
        let b = Bundle::new("start", false);
        let cfg = b.config(&[], &["--stdin-open"]);
        let mut sys = RecordingSys::new();
        let r = start_with(&mut sys, &cfg).unwrap();
        // socketpair 100/101; stdout 102/103, stderr 104/105, stdin 106/107; /dev/null 108.
        let all = libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;
        assert!(sys.called(&format!("clone {all:#x}")), "{:#?}", sys.calls);
        for theirs in ["close 101", "close 108", "close 103", "close 105", "close 106"] {
            assert!(sys.before("clone", theirs), "{theirs}: {:#?}", sys.calls);
        }
        assert!(sys.before("close 103", "receive 100") && sys.before("receive 100", "close 100"));
        assert_eq!((r.pid, r.out, r.err, r.stdin, r.tty), (4242, Some(102), Some(104), Some(107), false));
        assert!(sys.called("nonblock 102") && sys.called("nonblock 104"));
        let mut left = sys.open.clone();
        left.sort();
        assert_eq!(left, [102, 104, 107], "the monitor keeps its ends, nothing else");
    }

    #[test]
    fn with_a_terminal_the_output_is_the_pty_master() {
        let b = Bundle::new("tty", true);
        let cfg = b.config(&[], &["--stdin-open"]);
        let mut sys = RecordingSys { master: Some(55), ..RecordingSys::new() };
        let r = start_with(&mut sys, &cfg).unwrap();
        assert_eq!((r.out, r.err, r.stdin, r.tty), (Some(55), None, None, true));
        assert!(!sys.called("pipe"), "no pipes with a terminal: {:#?}", sys.calls);
        assert!(sys.called("nonblock 55"));
    }

    #[test]
    fn every_failed_start_closes_what_it_opened() {
        let b = Bundle::new("fail", false);
        let mut cfg = b.config(&[("net-netns", "/n"), ("net-ifs", "eth0,ncx0,10.88.0.2/16,10.88.0.1,")], &["--stdin-open"]);
        cfg.net_join = None;
        for (step, errno) in [("socketpair", libc::EMFILE), ("pipe", libc::EMFILE), ("clone", libc::ENOMEM), ("net_attach", 0), ("shared_namespaces", 0)] {
            let mut sys = RecordingSys { fail: vec![(step.into(), errno)], ..RecordingSys::new() };
            let e = start_with(&mut sys, &cfg).err().unwrap();
            assert_eq!(e.code, 125, "{step}");
            assert!(sys.open.is_empty(), "{step}: left open {:?}", sys.open);
        }
        let mut sys = RecordingSys { fail: vec![("net_attach".into(), 0)], ..RecordingSys::new() };
        start_with(&mut sys, &cfg).err().unwrap();
        assert!(sys.before("net_attach", "kill 4242 9") && sys.before("kill 4242 9", "waitpid 4242"), "{:#?}", sys.calls);
        assert!(!sys.called("receive"));
        let mut sys = RecordingSys { fail: vec![("clone".into(), libc::ENOMEM)], ..RecordingSys::new() };
        let e = start_with(&mut sys, &cfg).err().unwrap();
        assert_eq!(e.message, "cannot create the container's namespaces: Cannot allocate memory (os error 12)");
    }

    #[test]
    fn a_setup_error_keeps_its_code_and_reaps_pid_1() {
        let b = Bundle::new("setup", true);
        let cfg = b.config(&[], &[]);
        let mut sys = RecordingSys { master: Some(300), child_error: Some((126, "exec: \"/x\": permission denied".into())), ..RecordingSys::new() };
        let e = start_with(&mut sys, &cfg).err().unwrap();
        assert_eq!(e.code, 126);
        assert!(sys.before("receive", "waitpid 4242"));
        assert!(sys.called("close 300"), "the pty master it sent goes too");
        assert!(sys.open.is_empty(), "{:?}", sys.open);
    }

    #[test]
    fn a_net_join_moves_the_monitor_and_keeps_the_network_namespace() {
        let b = Bundle::new("netjoin", false);
        let cfg = b.config(&[("net-join", "/proc/9/ns/net")], &[]);
        let mut sys = RecordingSys::new();
        start_with(&mut sys, &cfg).unwrap();
        assert!(sys.before("join_netns /proc/9/ns/net", "clone"));
        let flags = libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
        assert!(sys.called(&format!("clone {flags:#x}")), "{:#?}", sys.calls);
        let mut sys = RecordingSys { fail: vec![("join_netns".into(), 0)], ..RecordingSys::new() };
        assert!(start_with(&mut sys, &cfg).is_err());
        assert!(!sys.called("clone") && !sys.called("socketpair"));
    }

    fn monitor(b: &Bundle, restart: &str) -> Monitor {
        let cfg = b.config(&[("restart", restart)], &[]);
        Monitor {
            state: State::default(),
            state_path: format!("{}/state.json", b.path()),
            log: None,
            out_split: LineSplitter::default(),
            err_split: LineSplitter::default(),
            running: None,
            probe: None,
            next_probe: None,
            restart_at: None,
            consecutive: 0,
            stop_requested: false,
            listener: None,
            clients: Vec::new(),
            attach_wait: None,
            cfg,
        }
    }

    fn running(pid: i32) -> Running {
        Running { pid, out: None, err: None, stdin: None, tty: false, started: Instant::now() }
    }

    #[test]
    fn an_exit_under_a_restart_policy_schedules_a_restart_with_backoff() {
        let b = Bundle::new("restart", false);
        let mut m = monitor(&b, "on-failure:2");
        m.on_started(running(10));
        assert_eq!(State::read(&m.state_path).unwrap().status, "running");
        m.on_exit(1);
        assert_eq!(m.state.status, "restarting");
        assert!(m.restart_at.is_some() && m.consecutive == 1 && !m.done());
        assert_eq!(State::read(&m.state_path).unwrap().exit_code, 1, "the state file says so");
        // A clean exit is not a failure: no restart under on-failure.
        let mut m = monitor(&b, "on-failure:2");
        m.on_started(running(11));
        m.on_exit(0);
        assert_eq!(m.state.status, "exited");
        assert!(m.done());
    }

    #[test]
    fn a_stop_by_the_user_or_a_new_policy_wins_over_the_old_policy() {
        let b = Bundle::new("stopped", false);
        let mut m = monitor(&b, "always");
        m.on_started(running(10));
        std::fs::write(format!("{}/stopping", b.path()), "").unwrap();
        m.on_exit(143);
        assert_eq!(m.state.status, "exited", "`stop` leaves a file: no restart");
        std::fs::remove_file(format!("{}/stopping", b.path())).unwrap();
        let mut m = monitor(&b, "always");
        m.on_started(running(12));
        std::fs::write(format!("{}/{RESTART_POLICY_FILE}", b.path()), "no\n").unwrap();
        m.on_exit(1);
        assert_eq!((m.state.status.as_str(), m.cfg.policy), ("exited", RestartPolicy::No), "`update --restart no` while it ran");
    }

    #[test]
    fn a_health_checked_container_starts_in_starting_and_schedules_its_first_probe() {
        let b = Bundle::new("health", false);
        let mut m = monitor(&b, "no");
        m.cfg.health = Some(HealthConfig { test: vec!["CMD".into(), "true".into()], interval: Duration::from_secs(30), timeout: Duration::from_secs(1), retries: 3, start_period: Duration::from_secs(60), start_interval: Duration::from_secs(2) });
        m.on_started(running(10));
        assert_eq!(m.state.health.as_ref().unwrap().status, "starting");
        let first = m.next_probe.unwrap().saturating_duration_since(Instant::now());
        assert!(first <= Duration::from_secs(2), "the start interval first, not the 30 s interval: {first:?}");
        assert!(m.poll_timeout() <= 2001);
        m.on_exit(0);
        assert!(m.next_probe.is_none(), "no probe of an exited container");
    }

    #[test]
    fn durations_read_as_go_prints_them_and_probe_output_is_capped() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        let mut p = [0 as RawFd; 2];
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }, 0);
        let big = vec![b'x'; HEALTH_OUTPUT_MAX + 100];
        let mut buf = Vec::new();
        let mut written = 0;
        while written < big.len() {
            let n = unsafe { libc::write(p[1], big[written..].as_ptr() as *const libc::c_void, big.len() - written) };
            assert!(n > 0);
            written += n as usize;
            assert!(read_capped(p[0], &mut buf), "open, nothing more yet");
        }
        unsafe { libc::close(p[1]) };
        assert!(!read_capped(p[0], &mut buf), "EOF");
        assert_eq!(buf.len(), HEALTH_OUTPUT_MAX);
        unsafe { libc::close(p[0]) };
    }

    #[test]
    fn a_removed_bundle_is_gone_under_its_name_at_once() {
        let b = Bundle::new("rm", false);
        std::fs::create_dir_all(b.0.join("rootfs/etc")).unwrap();
        remove_bundle(b.path());
        assert!(!b.0.exists());
        let doomed = b.0.parent().unwrap().join(format!(".rm-{}", b.0.file_name().unwrap().to_string_lossy()));
        assert!(!doomed.exists(), "the renamed copy is deleted too");
    }

    #[test]
    fn start_interval_only_while_starting_in_the_start_period() {
        let secs = Duration::from_secs;
        let h = HealthConfig { test: vec![], interval: secs(30), timeout: secs(30), retries: 3, start_period: secs(60), start_interval: secs(2) };
        assert_eq!(probe_interval(&h, true, Some(secs(10))), secs(2));
        assert_eq!(probe_interval(&h, false, Some(secs(10))), secs(30)); // healthy already
        assert_eq!(probe_interval(&h, true, Some(secs(61))), secs(30)); // start period over
        assert_eq!(probe_interval(&h, true, None), secs(30));
        let plain = HealthConfig { start_interval: Duration::ZERO, ..h };
        assert_eq!(probe_interval(&plain, true, Some(secs(10))), secs(30));
    }
}
