//! The monitor's event loop: the container's output (to the log and the attached clients),
//! the clients' input, resizes and signals, SIGCHLD (the container's exit, a probe's end),
//! the restart policy with Docker's back-off, and the health probes' timers. The state file
//! is rewritten at every change of state.

use super::health::{go_duration, probe_interval, read_capped, spawn_probe, Confinement, Probe};
use super::start::{start_container, Running};
use super::{close, Config, RESTART_POLICY_FILE};
use crate::attach;
use crate::supervise::exit_code;
use ncx_core::logfile::{JsonLog, LineSplitter};
use ncx_core::state::{backoff_ms, rfc3339_nano, HealthLog, HealthState, RestartPolicy, State, BACKOFF_RESET_MS};
use ncx_core::sys::errno;
use std::os::fd::RawFd;
use std::time::{Duration, Instant, SystemTime};

pub(super) struct Monitor {
    pub(super) cfg: Config,
    pub(super) state: State,
    pub(super) state_path: String,
    pub(super) log: Option<JsonLog>,
    pub(super) out_split: LineSplitter,
    pub(super) err_split: LineSplitter,
    pub(super) running: Option<Running>,
    pub(super) probe: Option<Probe>,
    pub(super) next_probe: Option<Instant>,
    pub(super) restart_at: Option<Instant>,
    pub(super) consecutive: u32,
    pub(super) stop_requested: bool,
    pub(super) listener: Option<RawFd>,
    pub(super) clients: Vec<RawFd>,
    /// Output is held back until this deadline or the first client (`--attach-wait`).
    pub(super) attach_wait: Option<Instant>,
}

impl Monitor {
    /// A monitor with nothing running yet: no container, probe, timer or client.
    pub(super) fn new(cfg: Config, state: State, state_path: String, log: Option<JsonLog>) -> Monitor {
        Monitor {
            cfg,
            state,
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
        }
    }

    pub(super) fn save(&self) {
        let _ = self.state.write(&self.state_path);
    }

    pub(super) fn log_entry(&mut self, stream: &'static str, data: &[u8]) {
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
    pub(super) fn pump(&mut self, fd: RawFd, stream: &'static str) -> bool {
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
    pub(super) fn broadcast(&mut self, kind: u8, data: &[u8]) {
        self.clients.retain(|&fd| {
            let ok = attach::send(fd, kind, data);
            if !ok {
                close(Some(fd));
            }
            ok
        });
    }

    pub(super) fn accept_clients(&mut self) {
        let Some(l) = self.listener else { return };
        while let Some(fd) = attach::accept(l) {
            self.clients.push(fd);
            self.attach_wait = None;
        }
    }

    /// The container exited while `--attach-wait` still holds its output: give the client
    /// the rest of the wait to connect, so it gets the output and the exit code.
    pub(super) fn await_client(&mut self) {
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
    pub(super) fn on_client(&mut self, fd: RawFd) {
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
                    // Set: the client may answer its caller now (the Engine API's resize).
                    attach::send(fd, attach::RESIZED, &data[..4]);
                }
                attach::SIGNAL if !data.is_empty() => unsafe {
                    libc::kill(r.pid, data[0] as i32);
                },
                _ => {}
            }
        }
    }

    pub(super) fn on_started(&mut self, r: Running) {
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

    pub(super) fn on_exit(&mut self, code: i32) {
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
        // Attached clients (`start -a`, `run -it`) learn the exit only now that the state says
        // so: a `rm` right after their command returns must not find the container running.
        for fd in std::mem::take(&mut self.clients) {
            attach::send(fd, attach::EXIT, &code.to_le_bytes());
            close(Some(fd));
        }
    }

    pub(super) fn on_probe_done(&mut self, code: i32) {
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

    pub(super) fn reap(&mut self) {
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

    pub(super) fn timers(&mut self) {
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

    pub(super) fn poll_timeout(&self) -> i32 {
        let now = Instant::now();
        let deadlines = [self.restart_at, self.next_probe, self.probe.as_ref().filter(|p| !p.timed_out).map(|p| p.deadline), self.attach_wait];
        match deadlines.iter().flatten().min() {
            Some(t) => t.saturating_duration_since(now).as_millis().min(i32::MAX as u128) as i32 + 1,
            None => -1,
        }
    }

    pub(super) fn done(&self) -> bool {
        self.running.is_none() && self.restart_at.is_none()
    }

    pub(super) fn event_loop(&mut self, sfd: RawFd) {
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

    pub(super) fn on_signal(&mut self, sfd: RawFd) {
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
