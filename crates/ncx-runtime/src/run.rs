//! `ncx-runtime run`: create the container's namespaces, fork its PID 1, set up its
//! filesystem through the plan, and supervise it in the foreground (TTY relay, signal
//! forwarding, exit status). Child → parent messages travel over a SOCK_SEQPACKET pair:
//! `T` + an SCM_RIGHTS pty master, or `E` + a JSON error; EOF means exec succeeded.

use crate::Args;
use ncx_core::plan::{execute, plan, RootfsMount};
use ncx_core::spec::{Process, Spec};
use ncx_core::sys::{cstr, errno, RealSys};
use ncx_core::state::{process_start, rfc3339_nano, State};
use ncx_core::logfile::{parse_size, JsonLog, LineSplitter};
use ncx_core::{caps, userns};
use std::time::SystemTime;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::RawFd;

pub(crate) const FORWARDED: [libc::c_int; 7] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGCONT];

/// What a foreground supervisor reads from its signalfd: the forwarded signals, SIGCHLD, SIGWINCH.
pub(crate) fn supervised_signals() -> Vec<libc::c_int> {
    FORWARDED.iter().copied().chain([libc::SIGCHLD, libc::SIGWINCH]).collect()
}

/// Block `signals` (to be read from a signalfd); returns the set and the previous mask.
pub(crate) fn block_signals(signals: &[libc::c_int]) -> (libc::sigset_t, libc::sigset_t) {
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
    }
    (set, old)
}

/// The OCI `create`'s start gate (oci.rs): an O_PATH fd of the container's exec fifo. PID 1
/// reports `R` (ready) once set up, then opens the fifo for writing, which blocks until
/// `start` opens it for reading, and only then execs. -1: no gate (ncx's own `run`).
pub(crate) static EXEC_FIFO: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The spec's `startContainer` hooks and the state they read on stdin (`{"hooks":[…],"state":{…}}`):
/// run in the container, after the gate, before execve.
pub(crate) static START_HOOKS: std::sync::Mutex<serde_json::Value> = std::sync::Mutex::new(serde_json::Value::Null);

pub(crate) struct Status {
    pub fd: Option<RawFd>,
}

impl Status {
    pub fn send(&self, v: serde_json::Value) {
        if let Some(fd) = self.fd {
            let line = format!("{v}\n");
            unsafe { libc::write(fd, line.as_ptr() as *const libc::c_void, line.len()) };
        }
    }
}

pub fn run(args: &Args) -> i32 {
    if let Some(ext) = crate::external::from_args(args) {
        return crate::external::run_foreground(args, &ext);
    }
    let bundle = args.require("bundle").trim_end_matches('/').to_string();
    let status = Status { fd: args.get("status-fd").and_then(|s| s.parse().ok()) };
    let report = |code: i32, msg: String| -> i32 {
        if status.fd.is_some() {
            status.send(serde_json::json!({ "event": "error", "code": code, "message": msg }));
        } else {
            let _ = writeln!(std::io::stderr(), "ncx-runtime: {msg}");
        }
        code
    };
    let mut spec = match Spec::load(&format!("{bundle}/config.json")) {
        Ok(s) => s,
        Err(e) => return report(125, e.to_string()),
    };
    let root = spec.root.clone().unwrap_or_default();
    let rootfs = if root.path.starts_with('/') { root.path.clone() } else { format!("{bundle}/{}", root.path) };
    let rootfs_mount = match args.get("rootfs-mount") {
        Some(t) => match RootfsMount::parse(t) {
            Some(m) => Some(m),
            None => return report(125, format!("invalid --rootfs-mount {t:?}: expected TYPE:DATA")),
        },
        None => None,
    };
    // Published ports: bound here, in the host's network namespace, before joining anything.
    let listeners = match crate::net::bind_ports(args) {
        Ok(l) => l,
        Err(e) => return report(125, e),
    };
    let attach = crate::net::attach_args(args).map(crate::net::NetSetup::prefork);
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            return report(125, e.to_string());
        }
    }
    if let (Some(l), Some(a)) = (&listeners, &attach) {
        if let Err(e) = crate::net::spawn_forwarder(l, &a.forward_target(args)) {
            return report(125, e);
        }
        for (fd, _) in &l.socks {
            unsafe { libc::close(*fd) };
        }
    }
    let gate = if attach.is_some() {
        let mut g = [0 as RawFd; 2];
        unsafe { libc::pipe2(g.as_mut_ptr(), libc::O_CLOEXEC) };
        Some((g[0], g[1]))
    } else {
        None
    };
    // The mount and cgroup namespaces are created by the child alone: the mounts vanish with
    // it, and its cgroup namespace is rooted at the cgroup it was cloned into.
    let mut flags = libc::CLONE_NEWPID;
    for (kind, flag) in [("uts", libc::CLONE_NEWUTS), ("ipc", libc::CLONE_NEWIPC), ("network", libc::CLONE_NEWNET)] {
        if spec.has_namespace(kind) {
            flags |= flag;
        }
    }
    if let Some(path) = args.get("net-join") {
        if let Err(e) = crate::net::join_netns(path) {
            return report(125, e);
        }
        flags &= !libc::CLONE_NEWNET;
    }
    match shared_namespaces(&spec, args.get("ns-join")) {
        Ok(shared) => flags &= !shared,
        Err(e) => return report(125, e),
    }
    let own_userns = match crate::ownns::prepare(&mut spec) {
        Ok(fd) => fd,
        Err(e) => return report(125, e),
    };
    if unsafe { libc::unshare(flags) } < 0 {
        return report(125, format!("cannot create the container's namespaces: {}", std::io::Error::last_os_error()));
    }
    let mut pair = [0 as RawFd; 2];
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr()) } < 0 {
        return report(125, format!("socketpair: {}", std::io::Error::last_os_error()));
    }
    // The container's cgroup, limits written, before its first process exists (made last
    // before the clone, so no earlier failure leaves it behind).
    let placement = match crate::cgroup::prepare(&spec) {
        Ok(p) => p,
        Err(e) => return report(125, e),
    };
    // `--log-path`: the container's output is logged as well (json-file, as the monitor
    // does); without a terminal it goes through pipes this process relays.
    let mut output = match args.get("log-path") {
        Some(path) => {
            let size = match args.get("log-max-size").map(|s| (s, parse_size(s))) {
                Some((_, Some(n))) => n,
                Some((s, None)) => return report(125, format!("invalid --log-max-size {s:?}")),
                None => 0,
            };
            let files = args.get("log-max-file").and_then(|n| n.parse().ok()).unwrap_or(1);
            match JsonLog::open(path, size, files) {
                Ok(log) => Output::logged(log),
                Err(e) => return report(125, format!("cannot open the log {path}: {e}")),
            }
        }
        None => Output::default(),
    };
    let terminal = spec.process.as_ref().is_some_and(|p| p.terminal);
    let mut child_ends: [RawFd; 2] = [-1, -1];
    if output.log.is_some() && !terminal {
        for (stream, end) in child_ends.iter_mut().enumerate() {
            let mut p = [0 as RawFd; 2];
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
                return report(125, format!("pipe: {}", std::io::Error::last_os_error()));
            }
            output.pipes[stream] = Some(p[0]);
            *end = p[1];
        }
    }
    // Block the signals we handle before forking, so none is lost; the child unblocks them.
    let (set, old) = block_signals(&supervised_signals());
    let no_stdin = args.has("--no-stdin");
    let pid = crate::cgroup::clone_into(0, placement.as_ref());
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        if let Some(p) = placement {
            p.destroy();
        }
        return report(125, format!("cannot start the container's process: {e}"));
    }
    if pid == 0 {
        unsafe {
            libc::close(pair[0]);
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        if let Some((_, gw)) = gate {
            unsafe { libc::close(gw) };
        }
        for (stream, end) in child_ends.iter().enumerate() {
            if *end >= 0 {
                // (dup2 clears close-on-exec on the copy; the pipes' own fds close at exec)
                unsafe { libc::dup2(*end, stream as RawFd + 1) };
            }
        }
        child(&spec, &rootfs, rootfs_mount.as_ref(), pair[1], false, gate.map(|g| g.0), args.get("shm-from"));
    }
    unsafe { libc::close(pair[1]) };
    for end in child_ends.into_iter().filter(|e| *e >= 0) {
        unsafe { libc::close(end) };
    }
    if let Some(fd) = own_userns {
        unsafe { libc::close(fd) };
    }
    if let (Some((gr, gw)), Some(a)) = (gate, &attach) {
        unsafe { libc::close(gr) };
        if let Err(e) = crate::net::attach(a, pid) {
            unsafe {
                libc::close(gw);
                libc::close(pair[0]);
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            if let Some(p) = placement {
                p.destroy();
            }
            if let Some(dir) = args.get("cleanup") {
                let _ = std::fs::remove_dir_all(dir);
            }
            return report(125, e);
        }
        unsafe {
            libc::write(gw, b"g".as_ptr() as *const libc::c_void, 1);
            libc::close(gw);
        }
    }
    let (master, error) = receive(pair[0]);
    unsafe { libc::close(pair[0]) };
    if let Some((code, msg)) = error {
        let mut st = 0;
        unsafe { libc::waitpid(pid, &mut st, 0) };
        if let Some(p) = placement {
            p.destroy();
        }
        if let Some(dir) = args.get("cleanup") {
            let _ = std::fs::remove_dir_all(dir);
        }
        return report(code, msg);
    }
    let ports = listeners.as_ref().map(|l| l.report()).unwrap_or(serde_json::Value::Array(vec![]));
    status.send(serde_json::json!({ "event": "started", "pid": pid, "ports": ports }));
    // The state file makes a foreground container visible to `ps`, `exec`, `stop` (this
    // process plays the monitor's part).
    let state_path = args.get("state").map(str::to_string);
    let mut st = State {
        status: "running".into(),
        pid,
        monitor_pid: std::process::id() as i32,
        monitor_start: process_start(std::process::id() as i32).unwrap_or(0),
        started_at: rfc3339_nano(SystemTime::now()),
        ..Default::default()
    };
    if let Some(p) = &state_path {
        let _ = st.write(p);
    }
    let code = supervise_logged(pid, &set, master, no_stdin, &mut output);
    let oom_killed = placement.as_ref().map(|p| p.oom_killed()).unwrap_or(false);
    if let Some(w) = placement.and_then(|p| p.destroy()) {
        status.send(serde_json::json!({ "event": "warning", "message": w }));
    }
    if let Some(p) = &state_path {
        st.status = "exited".into();
        st.pid = 0;
        st.exit_code = code;
        st.oom_killed = oom_killed;
        st.finished_at = rfc3339_nano(SystemTime::now());
        let _ = st.write(p);
    }
    status.send(serde_json::json!({ "event": "exit", "code": code, "oomKilled": oom_killed }));
    if let Some(dir) = args.get("cleanup") {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            status.send(serde_json::json!({ "event": "warning", "message": format!("cannot remove {dir}: {e}") }));
        }
    }
    code
}

/// Read child messages until EOF: an optional pty master and an optional error.
pub(crate) fn receive(sock: RawFd) -> (Option<RawFd>, Option<(i32, String)>) {
    let mut master = None;
    loop {
        let mut buf = [0u8; 4096];
        let (n, fd) = recv_with_fd(sock, &mut buf);
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return (master, None);
        }
        match buf[0] {
            b'T' => {
                if fd.is_some() {
                    master = fd;
                }
            }
            // The OCI create's PID 1 is set up and waits at its gate.
            b'R' => return (master, None),
            b'E' => {
                let v: serde_json::Value = serde_json::from_slice(&buf[1..n as usize]).unwrap_or_default();
                let code = v["code"].as_i64().unwrap_or(125) as i32;
                let msg = v["message"].as_str().unwrap_or("container setup failed").to_string();
                return (master, Some((code, msg)));
            }
            _ => {}
        }
    }
}

pub(crate) fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    }
}

fn copy_winsize(from: RawFd, to: RawFd) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) } == 0 {
        unsafe { libc::ioctl(to, libc::TIOCSWINSZ, &ws) };
    }
}

/// Move bytes from `from` to `to`; false on EOF or error.
fn pump(from: RawFd, to: RawFd) -> bool {
    let mut buf = [0u8; 32 * 1024];
    let n = unsafe { libc::read(from, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    if n <= 0 {
        return n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR);
    }
    let mut off = 0usize;
    while off < n as usize {
        let w = unsafe { libc::write(to, buf[off..].as_ptr() as *const libc::c_void, n as usize - off) };
        if w <= 0 {
            if w < 0 && errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        off += w as usize;
    }
    true
}

/// Where a supervised container's output goes: the terminal (fds 1 and 2, or the pty
/// master's bytes to fd 1) and, for a foreground `run` with the json-file driver, its log,
/// as the monitor writes it for a detached one (Docker logs every run, attached or not).
#[derive(Default)]
pub(crate) struct Output {
    /// The read ends of the container's stdout and stderr pipes (no terminal, logged).
    pub pipes: [Option<RawFd>; 2],
    pub log: Option<JsonLog>,
    split: [LineSplitter; 2],
    /// The terminal side stopped taking output (EPIPE): keep logging, stop relaying.
    closed: [bool; 2],
}

impl Output {
    pub(crate) fn logged(log: JsonLog) -> Output {
        Output { log: Some(log), ..Default::default() }
    }

    fn entry(&mut self, stream: usize, data: &[u8]) {
        let (log, split) = (&mut self.log, &mut self.split[stream]);
        let now = SystemTime::now();
        let name = if stream == 0 { "stdout" } else { "stderr" };
        split.feed(data, &mut |line| {
            if let Some(l) = log.as_mut() {
                let _ = l.write_entry(name, line, now);
            }
        });
    }

    fn write_out(&mut self, stream: usize, data: &[u8]) {
        if !self.closed[stream] && !crate::attach::write_all(stream as RawFd + 1, data) {
            self.closed[stream] = true;
        }
    }

    /// Relay what the pipe holds (all of it when `drain`, else one read); closes it at EOF.
    fn relay_pipe(&mut self, fd: RawFd, drain: bool) {
        let Some(stream) = self.pipes.iter().position(|p| *p == Some(fd)) else { return };
        if drain {
            unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
        }
        let mut buf = [0u8; 32 * 1024];
        loop {
            let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                if n == 0 || errno() != libc::EAGAIN {
                    unsafe { libc::close(fd) };
                    self.pipes[stream] = None;
                }
                return;
            }
            self.write_out(stream, &buf[..n as usize]);
            self.entry(stream, &buf[..n as usize]);
            if !drain {
                return;
            }
        }
    }

    /// A pty's output: to fd 1 and, as Docker logs a terminal, to the log as stdout.
    fn relay_master(&mut self, m: RawFd, drain: bool) {
        if drain {
            unsafe { libc::fcntl(m, libc::F_SETFL, libc::O_NONBLOCK) };
        }
        let mut buf = [0u8; 32 * 1024];
        loop {
            let n = unsafe { libc::read(m, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n <= 0 {
                break;
            }
            self.write_out(0, &buf[..n as usize]);
            self.entry(0, &buf[..n as usize]);
            if !drain {
                break;
            }
        }
    }

    /// The trailing partial lines go to the log.
    fn finish(&mut self) {
        let now = SystemTime::now();
        for (stream, name) in [(0, "stdout"), (1, "stderr")] {
            let (log, split) = (&mut self.log, &mut self.split[stream]);
            split.flush(&mut |line| {
                if let Some(l) = log.as_mut() {
                    let _ = l.write_entry(name, line, now);
                }
            });
        }
    }
}

/// How a supervised process ended for us: its exit code, or the user typed the detach keys
/// (then the process still runs and the terminal is restored).
pub(crate) enum Supervised {
    Exited(i32),
    Detached,
}

/// Wait for the container, forwarding signals and relaying the pty if there is one.
pub(crate) fn supervise(pid: i32, set: &libc::sigset_t, master: Option<RawFd>, no_stdin: bool) -> i32 {
    supervise_logged(pid, set, master, no_stdin, &mut Output::default())
}

/// `supervise`, with the container's output going through `output` (the log of a foreground run).
pub(crate) fn supervise_logged(pid: i32, set: &libc::sigset_t, master: Option<RawFd>, no_stdin: bool, output: &mut Output) -> i32 {
    match supervise_with_keys(pid, set, master, no_stdin, &[], output) {
        Supervised::Exited(code) => code,
        Supervised::Detached => 0,
    }
}

/// `supervise`, watching the relayed stdin for a detach sequence (`exec -it --detach-keys`).
pub(crate) fn supervise_with_keys(pid: i32, set: &libc::sigset_t, master: Option<RawFd>, no_stdin: bool, keys: &[u8], output: &mut Output) -> Supervised {
    let mut detach = crate::attach::DetachKeys::new(keys.to_vec());
    let sfd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC) };
    let mut saved: Option<libc::termios> = None;
    if let Some(m) = master {
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if !no_stdin && unsafe { libc::tcgetattr(0, &mut t) } == 0 {
            saved = Some(t);
            let mut raw = t;
            unsafe {
                libc::cfmakeraw(&mut raw);
                libc::tcsetattr(0, libc::TCSANOW, &raw);
            }
        }
        copy_winsize(0, m);
    }
    let mut stdin_open = master.is_some() && !no_stdin;
    let mut code = None;
    while code.is_none() {
        let mut fds = vec![libc::pollfd { fd: sfd, events: libc::POLLIN, revents: 0 }];
        if let Some(m) = master {
            fds.push(libc::pollfd { fd: m, events: libc::POLLIN, revents: 0 });
            if stdin_open {
                fds.push(libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 });
            }
        }
        // The container's stdout and stderr pipes (a logged run without a terminal), last.
        let first_pipe = fds.len();
        for fd in output.pipes.iter().flatten() {
            fds.push(libc::pollfd { fd: *fd, events: libc::POLLIN, revents: 0 });
        }
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        for p in &fds[first_pipe..] {
            if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                output.relay_pipe(p.fd, false);
            }
        }
        if master.is_some() && fds.len() > 2 && fds[2].revents != 0 {
            if keys.is_empty() {
                if !pump(0, master.unwrap()) {
                    stdin_open = false;
                }
            } else {
                let mut buf = [0u8; 8192];
                let n = unsafe { libc::read(0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
                if n <= 0 && !(n < 0 && (errno() == libc::EAGAIN || errno() == libc::EINTR)) {
                    stdin_open = false;
                } else if n > 0 {
                    let mut out = Vec::new();
                    let done = detach.feed(&buf[..n as usize], &mut out);
                    crate::attach::write_all(master.unwrap(), &out);
                    if done {
                        if let Some(t) = saved {
                            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
                        }
                        crate::attach::write_all(2, crate::attach::DETACHED_MESSAGE);
                        return Supervised::Detached;
                    }
                }
            }
        }
        if master.is_some() && fds[1].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            if output.log.is_some() {
                output.relay_master(master.unwrap(), false);
            } else {
                pump(master.unwrap(), 1);
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let n = unsafe { libc::read(sfd, &mut info as *mut _ as *mut libc::c_void, std::mem::size_of::<libc::signalfd_siginfo>()) };
            if n <= 0 {
                continue;
            }
            let sig = info.ssi_signo as i32;
            if sig == libc::SIGCHLD {
                let mut st = 0;
                let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
                if r == pid {
                    code = Some(exit_code(st));
                }
            } else if sig == libc::SIGWINCH {
                if let Some(m) = master {
                    copy_winsize(0, m);
                }
            } else {
                unsafe { libc::kill(pid, sig) };
            }
        }
    }
    if let Some(m) = master {
        // Drain what the container wrote before it exited.
        output.relay_master(m, true);
    }
    // What the container wrote before it exited (other processes of its PID namespace died
    // with it; a writer that lives on, in a shared PID namespace, is not waited for).
    for fd in output.pipes.iter().flatten().copied().collect::<Vec<_>>() {
        output.relay_pipe(fd, true);
    }
    output.finish();
    if let Some(t) = saved {
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
    Supervised::Exited(code.unwrap_or(125))
}

/// Make this process unreachable from the container it is about to enter: not dumpable, so
/// no process in there can open its /proc/PID/exe (the runtime binary on the host), mem,
/// cwd or fds, nor ptrace it, until it execs the container's command (execve makes the
/// command dumpable again, as any program). A non-dumpable process's /proc/self files
/// belong to the host's root: the OOM score (inherited by children and across execve) is
/// written first.
pub(crate) fn undumpable(process: &Process) -> Result<(), String> {
    if let Some(adj) = process.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| format!("set oom_score_adj {adj}: {e} (a rootless container can only raise it)"))?;
    }
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } < 0 {
        return Err(format!("prctl(PR_SET_DUMPABLE): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Report an error to the parent and exit: the parent turns it into the exit code.
/// Without a socket (health checks) the message goes to stderr.
pub(crate) fn die(sock: RawFd, code: i32, msg: String) -> ! {
    let body = format!("E{}", serde_json::json!({ "code": code, "message": msg }));
    unsafe {
        // (No one listening any more, an OCI container past `create`: on its stderr.)
        if sock < 0 || libc::send(sock, body.as_ptr() as *const libc::c_void, body.len(), libc::MSG_NOSIGNAL) < 0 {
            let line = format!("{msg}\n");
            libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
        }
        libc::_exit(code);
    }
}

/// One message from `sock` into `buf`, and the fd passed with it (SCM_RIGHTS), if any: the
/// counterpart of `send_fd`. The count is recvmsg's (≤ 0: EOF or an error, with no fd).
pub(crate) fn recv_with_fd(sock: RawFd, buf: &mut [u8]) -> (isize, Option<RawFd>) {
    let mut cmsg = [0u8; 64];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = cmsg.len() as _; // usize in glibc's msghdr, u32 in musl's
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n <= 0 {
        return (n, None);
    }
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if !c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS {
            Some(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd))
        } else {
            None
        }
    };
    (n, fd)
}

pub(crate) fn send_fd(sock: RawFd, fd: RawFd) {
    unsafe {
        let mut byte = *b"T";
        let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut libc::c_void, iov_len: 1 };
        let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
        let mut cbuf = vec![0u8; space];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
        libc::sendmsg(sock, &msg, 0);
    }
}

/// Open a pty in the container's devpts, hand the master to the parent, and make the
/// slave our controlling terminal and stdio.
fn setup_terminal(sock: RawFd, size: Option<ncx_core::spec::ConsoleSize>) -> Result<(), String> {
    unsafe {
        let master = libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if master < 0 {
            return Err(format!("open /dev/ptmx: {}", std::io::Error::last_os_error()));
        }
        if libc::unlockpt(master) < 0 {
            return Err(format!("unlockpt: {}", std::io::Error::last_os_error()));
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(master, name.as_mut_ptr(), name.len()) != 0 {
            return Err("ptsname failed".into());
        }
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        if slave < 0 {
            return Err(format!("open pty slave: {}", std::io::Error::last_os_error()));
        }
        // The initial size (OCI consoleSize), before the process can ask for it.
        if let Some(c) = size.filter(|c| c.height > 0 && c.width > 0) {
            let ws = libc::winsize { ws_row: c.height, ws_col: c.width, ws_xpixel: 0, ws_ypixel: 0 };
            libc::ioctl(master, libc::TIOCSWINSZ, &ws);
        }
        send_fd(sock, master);
        libc::close(master);
        libc::setsid();
        if libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
            return Err(format!("set controlling terminal: {}", std::io::Error::last_os_error()));
        }
        // With -t alone the container still gets the terminal as stdin; the parent just
        // relays no input to it.
        for fd in 0..3 {
            libc::dup2(slave, fd);
        }
        if slave > 2 {
            libc::close(slave);
        }
    }
    Ok(())
}

/// The process's settings (its OOM score is `undumpable`'s, earlier).
fn apply_process(p: &Process) -> Result<(), String> {
    for r in &p.rlimits {
        let res = match r.kind.as_str() {
            "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
            "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
            "RLIMIT_CORE" => libc::RLIMIT_CORE,
            "RLIMIT_STACK" => libc::RLIMIT_STACK,
            "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
            "RLIMIT_AS" => libc::RLIMIT_AS,
            "RLIMIT_CPU" => libc::RLIMIT_CPU,
            "RLIMIT_DATA" => libc::RLIMIT_DATA,
            "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
            "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
            "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
            "RLIMIT_NICE" => libc::RLIMIT_NICE,
            "RLIMIT_RSS" => libc::RLIMIT_RSS,
            "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
            "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
            "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
            other => return Err(format!("unsupported rlimit {other}")),
        };
        let lim = libc::rlimit { rlim_cur: r.soft, rlim_max: r.hard };
        if unsafe { libc::setrlimit(res, &lim) } < 0 {
            return Err(format!("setrlimit {}: {}", r.kind, std::io::Error::last_os_error()));
        }
    }
    let c = p.capabilities.clone().unwrap_or_default();
    let bounding = caps::mask(&c.bounding)?;
    caps::drop_bounding(bounding).map_err(|e| e.to_string())?;
    let u = &p.user;
    unsafe {
        libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0);
        let groups: Vec<libc::gid_t> = u.additional_gids.clone();
        // setgroups is denied in a single-id user namespace; only an error when groups other
        // than the primary group were asked for.
        if libc::setgroups(groups.len(), groups.as_ptr()) < 0 && groups.iter().any(|g| *g != u.gid) {
            return Err(format!("setgroups: {}", std::io::Error::last_os_error()));
        }
        if libc::setresgid(u.gid, u.gid, u.gid) < 0 {
            return Err(format!("setgid {}: {} (is the gid mapped in the user namespace?)", u.gid, std::io::Error::last_os_error()));
        }
        if libc::setresuid(u.uid, u.uid, u.uid) < 0 {
            return Err(format!("setuid {}: {} (is the uid mapped in the user namespace?)", u.uid, std::io::Error::last_os_error()));
        }
    }
    caps::apply(caps::mask(&c.effective)?, caps::mask(&c.permitted)?, caps::mask(&c.inheritable)?, caps::mask(&c.ambient)?)
        .map_err(|e| e.to_string())?;
    if p.no_new_privileges {
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    }
    Ok(())
}

/// getcwd(2) itself (not the libc wrapper): the kernel prefixes a directory that cannot be
/// reached from the process's root with "(unreachable)".
fn cwd_inside_root() -> bool {
    let mut buf = [0u8; 4096];
    let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    n > 0 && buf[0] == b'/'
}

/// The container process's umask: the spec's `process.user.umask`, else 0022 as runc and
/// Docker give it; never ncx's own 077 (main.rs PRIVATE_UMASK), which it would inherit.
pub(crate) fn container_umask(p: &Process) -> libc::mode_t {
    p.user.umask.unwrap_or(0o022) as libc::mode_t
}

/// Find `arg0` the way execvp does, with the container's PATH.
fn lookup(arg0: &str, env: &[String]) -> Result<String, (i32, String)> {
    if arg0.contains('/') {
        return Ok(arg0.to_string());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{}/{arg0}", dir.trim_end_matches('/'));
        let c = cstr(&candidate);
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::stat(c.as_ptr(), &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG {
            if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                return Ok(candidate);
            }
            denied.get_or_insert(candidate);
        }
    }
    match denied {
        Some(p) => Err((126, format!("exec: {p:?}: permission denied"))),
        None => Err((127, format!("exec: {arg0:?}: executable file not found in $PATH"))),
    }
}

/// The container's PID 1: its own mount namespace, the filesystem plan, then the process.
/// `pdeath`: die with the parent (the monitor), so no container outlives its monitor.
/// `shm_from`: the mount namespace (`/proc/PID/ns/mnt`) whose /dev/shm this container shares.
pub(crate) fn child(spec: &Spec, rootfs: &str, rootfs_mount: Option<&RootfsMount>, sock: RawFd, pdeath: bool, gate: Option<RawFd>, shm_from: Option<&str>) -> ! {
    if !crate::sealed::running_sealed() {
        // Everything below runs from a sealed copy of the runtime (sealed.rs), as
        // `ncx-runtime init`: the same process (pid, namespaces, cgroup, fds) after execve.
        let own_userns = crate::ownns::path(spec).and_then(|p| p.strip_prefix("/proc/self/fd/")).and_then(|n| n.parse::<RawFd>().ok());
        let bypass = crate::bypass::control();
        let fifo = EXEC_FIFO.load(std::sync::atomic::Ordering::Relaxed);
        let state = serde_json::json!({
            "spec": spec, "rootfs": rootfs, "rootfsMount": rootfs_mount.map(|m| format!("{}:{}", m.fstype, m.data)),
            "sock": sock, "pdeath": pdeath, "gate": gate, "shmFrom": shm_from, "bypass": bypass,
            "execFifo": fifo, "startHooks": START_HOOKS.lock().unwrap().clone(),
        });
        let keep: Vec<RawFd> = [Some(sock), gate, own_userns, (bypass >= 0).then_some(bypass), (fifo >= 0).then_some(fifo)].into_iter().flatten().collect();
        die(sock, 125, crate::sealed::reexec_with_state("init", &state, &keep));
    }
    let process = spec.process.clone().unwrap_or_default();
    // Wait until the parent has set up the network namespace (EOF without a byte: give up).
    if let Some(g) = gate {
        let mut b = [0u8; 1];
        if unsafe { libc::read(g, b.as_mut_ptr() as *mut libc::c_void, 1) } != 1 {
            unsafe { libc::_exit(125) };
        }
        unsafe { libc::close(g) };
    }
    // Not before: the parent (and slirp4netns) open this process's /proc/PID/ns/net for the
    // network. Until here it has done nothing but wait, visible only to the processes of a
    // container whose PID namespace it shares (`--pid container:X`).
    if let Err(e) = undumpable(&process) {
        die(sock, 125, e);
    }
    if spec.has_namespace("cgroup") && unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } < 0 {
        die(sock, 125, format!("cannot create the cgroup namespace: {}", std::io::Error::last_os_error()));
    }
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } < 0 {
        die(sock, 125, format!("cannot create the mount namespace: {}", std::io::Error::last_os_error()));
    }
    // Cloned from our own new mount namespace (the one we ran in belongs to the initial user
    // namespace: we could enter the other's but not come back); this process is
    // single-threaded, as entering a mount namespace requires. The other container without a
    // /dev/shm (`--ipc none`): this one has none either.
    let shared_shm = match shm_from.map(|ns| ncx_core::nsenter::clone_mount_from(&mut RealSys, ns, "/dev/shm")) {
        Some(Ok(fd)) => Some(fd),
        Some(Err(e)) if e.errno == libc::ENOENT => None,
        Some(Err(e)) => die(sock, 125, format!("cannot share the other container's /dev/shm: {e}")),
        None => None,
    };
    // The plan's mount points and devices get exactly the modes it asks for (0755 directories,
    // 0644 files, 0666 /dev/null), as runc makes devices under umask 0: not ncx's umask 077,
    // which would shut a non-root container user out of them.
    unsafe { libc::umask(0) };
    let mut steps = plan(spec, rootfs, rootfs_mount);
    if let Some(fd) = shared_shm {
        ncx_core::plan::attach_before_pivot(&mut steps, fd, "/dev/shm");
    }
    if let Err(e) = execute(&mut RealSys, &steps) {
        die(sock, 125, format!("container setup failed: {e}"));
    }
    if let Some(path) = crate::ownns::path(spec) {
        use ncx_core::sys::Sys;
        if let Err(e) = RealSys.open_ns(path).and_then(|fd| RealSys.setns(fd, libc::CLONE_NEWUSER, "user")) {
            die(sock, 125, format!("cannot enter the container's user namespace: {e}"));
        }
    }
    let seccomp = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref());
    crate::bypass::install_in_child(); // --port-bypass: the bind filter (bypass.rs)
    exec_process(&process, seccomp, sock, pdeath, true)
}

/// `ncx-runtime init --state-fd N`: a container's PID 1 again, after `child` re-executed it
/// from a sealed copy of the runtime; its fds were kept open across the execve.
pub fn init(args: &Args) -> ! {
    let state = crate::sealed::read_state(args).unwrap_or_default();
    let fd = |k: &str| state[k].as_i64().map(|n| n as RawFd);
    let sock = fd("sock").unwrap_or(-1);
    for f in [Some(sock), fd("gate"), fd("bypass")].into_iter().flatten().filter(|f| *f >= 0) {
        ncx_core::sys::set_cloexec(f, true);
    }
    let spec: Spec = match serde_json::from_value(state["spec"].clone()) {
        Ok(s) => s,
        Err(e) => die(sock, 125, format!("invalid init state: {e}")),
    };
    if let Some(b) = fd("bypass").filter(|b| *b >= 0) {
        crate::bypass::set_control(b);
    }
    if let Some(f) = fd("execFifo").filter(|f| *f >= 0) {
        ncx_core::sys::set_cloexec(f, true);
        EXEC_FIFO.store(f, std::sync::atomic::Ordering::Relaxed);
        *START_HOOKS.lock().unwrap() = state["startHooks"].clone();
    }
    let mount = state["rootfsMount"].as_str().and_then(RootfsMount::parse);
    child(&spec, state["rootfs"].as_str().unwrap_or(""), mount.as_ref(), sock, state["pdeath"].as_bool().unwrap_or(false), fd("gate"), state["shmFrom"].as_str())
}

/// Terminal, credentials, capabilities, cwd, then execve (shared by run, exec and health
/// checks). Errors go to the parent over `sock` with Docker's exit codes (126/127).
/// `seccomp`: the container's profile. As runc does: without
/// no_new_privs the filter goes in while the process still has CAP_SYS_ADMIN (before the
/// credentials change, so those calls must pass it); with no_new_privs as late as possible,
/// right before execve.
/// `create_cwd`: make a missing working directory (`run -w`, as Docker's daemon does at
/// create); `exec` fails on one instead, as runc does.
pub(crate) fn exec_process(process: &Process, seccomp: Option<&ncx_core::spec::Seccomp>, sock: RawFd, pdeath: bool, create_cwd: bool) -> ! {
    // The process gets stdio and nothing else (Docker's and runc's rule): every other fd is
    // closed before anything is resolved in the container (an fd of a host directory is a
    // way out through /proc/self/fd/N, as the cwd or in a path). The error socket stays
    // until execve (close-on-exec).
    let fifo = EXEC_FIFO.load(std::sync::atomic::Ordering::Relaxed);
    let keep: Vec<RawFd> = [sock, fifo].into_iter().filter(|f| *f >= 0).collect();
    ncx_core::sys::close_fds_except(&keep);
    let filters = match seccomp.map(ncx_core::seccomp::compile) {
        Some(Ok(f)) => f,
        Some(Err(e)) => die(sock, 125, e.to_string()),
        None => Vec::new(),
    };
    let parent = unsafe { libc::getppid() };
    // Signals the supervisor blocked or ignored (Rust ignores SIGPIPE) must not leak into
    // the container: an ignored disposition and the mask survive execve.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if process.terminal {
        if let Err(e) = setup_terminal(sock, process.console_size) {
            die(sock, 125, e);
        }
    }
    if fifo >= 0 {
        crate::oci::wait_for_start(sock, fifo);
    }
    // Before the cwd is made: it is the container's, under the container's umask.
    unsafe { libc::umask(container_umask(process)) };
    let cwd = cstr(&process.cwd);
    // The working directory is made as runc makes it: resolved inside the container's root
    // (a symlink planted in the image leads inside it), missing directories created there.
    if create_cwd {
        use ncx_core::sys::Sys;
        if let Ok(t) = RealSys.prepare_target("/", &process.cwd, false) {
            RealSys.release_target(&t);
        }
    }
    if !process.no_new_privileges {
        if let Err(e) = ncx_core::seccomp::install(&filters) {
            die(sock, 125, e.to_string());
        }
    }
    if let Err(e) = apply_process(process) {
        die(sock, 125, e);
    }
    if unsafe { libc::chdir(cwd.as_ptr()) } < 0 {
        // runc's wording (docker exec -w /missing)
        let e = std::io::Error::last_os_error();
        let why = if e.raw_os_error() == Some(libc::ENOENT) { "no such file or directory".to_string() } else { e.to_string() };
        die(sock, 125, format!("chdir to cwd ({:?}) set in config.json failed: {why}", process.cwd));
    }
    // runc's check (CVE-2024-21626): the working directory must be inside the container's
    // root; a directory reached outside it has no path from there ("(unreachable)/…").
    if !cwd_inside_root() {
        die(sock, 125, format!("cwd {:?} is outside the container's root file system", process.cwd));
    }
    if process.args.is_empty() {
        die(sock, 125, "no command specified".into());
    }
    let path = match lookup(&process.args[0], &process.env) {
        Ok(p) => p,
        Err((code, msg)) => die(sock, code, msg),
    };
    let argv: Vec<CString> = process.args.iter().map(|a| cstr(a)).collect();
    let envp: Vec<CString> = process.env.iter().map(|e| cstr(e)).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let cpath = cstr(&path);
    if process.no_new_privileges {
        if let Err(e) = ncx_core::seccomp::install(&filters) {
            die(sock, 125, e.to_string());
        }
    }
    if pdeath {
        // Set last: a credential change clears it. If the parent is already gone, stop here.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        if unsafe { libc::getppid() } != parent {
            unsafe { libc::_exit(137) };
        }
    }
    unsafe { libc::execve(cpath.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    let e = errno();
    let (code, why) = match e {
        libc::ENOENT => (127, "no such file or directory"),
        libc::EACCES | libc::ENOEXEC | libc::EPERM => (126, "permission denied"),
        _ => (126, "cannot execute binary file"),
    };
    die(sock, code, format!("exec: {:?}: {why}", process.args[0]))
}

/// `--pid host` (no pid namespace in the spec) and `--ns-join KIND=PATH,…` (`--pid`/`--ipc
/// container:X`, joined here): the clone flags the container must not get anew.
pub fn shared_namespaces(spec: &Spec, ns_join: Option<&str>) -> Result<libc::c_int, String> {
    let mut shared = if spec.has_namespace("pid") { 0 } else { libc::CLONE_NEWPID };
    if let Some(list) = ns_join {
        shared |= ncx_core::nsenter::join_paths(&mut RealSys, list).map_err(|e| format!("cannot join the other container's namespace: {e}"))?;
    }
    Ok(shared)
}
