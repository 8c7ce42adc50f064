//! Supervising a container in the foreground (`run`, `exec`, the OCI `start`, an external
//! runtime's container): forward signals, relay the terminal or the output pipes (and log
//! them), watch for detach keys, and turn the wait status into the exit code.

use ncx_core::logfile::{JsonLog, LineSplitter};
use ncx_core::sys::errno;
use std::os::fd::RawFd;
use std::time::SystemTime;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_become_dockers_exit_codes() {
        assert_eq!(exit_code(3 << 8), 3, "exited 3");
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(libc::SIGKILL), 137, "killed: 128 + the signal");
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exit_code(0x137f), 125, "stopped, not ended");
    }

    #[test]
    fn a_logged_pipe_goes_to_the_log_by_lines_and_closes_at_eof() {
        let dir = std::env::temp_dir().join(format!("ncx-supervise-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.log");
        let mut out = Output::logged(JsonLog::open(path.to_str().unwrap(), 0, 1).unwrap());
        let mut p = [0 as RawFd; 2];
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        out.pipes[1] = Some(p[0]);
        out.closed = [true, true]; // (nothing to the test's own stdout and stderr)
        let text = b"one\ntw";
        assert_eq!(unsafe { libc::write(p[1], text.as_ptr() as *const libc::c_void, text.len()) }, text.len() as isize);
        unsafe { libc::close(p[1]) };
        out.relay_pipe(p[0], true);
        assert_eq!(out.pipes[1], None, "closed at EOF");
        out.finish();
        let log = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert_eq!((lines[0]["log"].as_str(), lines[0]["stream"].as_str()), (Some("one\n"), Some("stderr")));
        assert_eq!(lines[1]["log"].as_str(), Some("tw"), "the partial last line at the end");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
