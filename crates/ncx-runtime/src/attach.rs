//! Attaching to a detached container (`docker attach`, `start -a`, `run -it`): the monitor
//! listens on `attach.sock` in the bundle; `ncx-runtime attach` connects to it and relays
//! the terminal.
//!
//!   ncx-runtime attach --bundle DIR [--status-fd N] [--detach-keys B,B…] [--no-stdin] [--tty] [--sig-proxy]
//!       [--resize-fd N]
//!
//! `--resize-fd N` (with `--tty`; the Engine API's `POST /containers/{id}/resize`, whose
//! client has no terminal of its own): a pipe of `ROWS COLS` lines, each passed on as a `w`
//! message. Its end ends the session (a resize-only client: write one line and close) once
//! the monitor has acknowledged the sizes sent (1 s at most: an older monitor sends no `W`).
//! When fd N is a socket (Node's stdio pipes are), each acknowledgement is written back on it
//! as the line `ROWS COLS`: the engine answers a resize once it took effect, as dockerd does.
//!
//! Wire format: SOCK_SEQPACKET, one message a datagram, its first byte the kind.
//! Client → monitor: `i` stdin bytes, `c` stdin closed, `w` rows,cols (u16 LE each),
//! `s` a signal number (u8) for the container's process. Monitor → client: `o`/`e` output
//! on stdout/stderr (a terminal's output is `o`), `W` rows,cols once a `w` was set on the
//! terminal, `x` the exit code (i32 LE) when the container exits; then the monitor closes
//! the connection.
//!
//! The socket is bound and connected relative to the bundle directory (chdir first): a
//! bundle path can be longer than the 108 bytes a sockaddr_un holds.
//!
//! Only the monitor's own user may attach: the bundle is in a 0700 directory, the socket is
//! 0600, and a client whose SO_PEERCRED uid is not the monitor's is hung up on unread.
//!
//! The client reports on its status fd, one JSON object a line: `{"event":"exit","code":N}`,
//! `{"event":"detached"}` (the detach keys were typed: the container keeps running), or
//! `{"event":"error","code":N,"message":…}`.

use crate::signals::block_signals;
use crate::status::Status;
use crate::Args;
use ncx_core::sys::{cstr, errno};
use std::os::fd::RawFd;

pub const SOCKET: &str = "attach.sock";
pub const STDIN: u8 = b'i';
pub const CLOSE_STDIN: u8 = b'c';
pub const RESIZE: u8 = b'w';
pub const RESIZED: u8 = b'W';
pub const SIGNAL: u8 = b's';
pub const STDOUT: u8 = b'o';
pub const STDERR: u8 = b'e';
pub const EXIT: u8 = b'x';
/// What Docker's CLI prints when the detach keys were typed.
pub const DETACHED_MESSAGE: &[u8] = b"read escape sequence\n";
/// Largest message: kind byte + one read's worth of data.
pub const MAX_MESSAGE: usize = 8193;

fn sockaddr(name: &str) -> (libc::sockaddr_un, libc::socklen_t) {
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (i, b) in name.bytes().enumerate() {
        addr.sun_path[i] = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + name.len() + 1;
    (addr, len as libc::socklen_t)
}

/// Run `f` with the bundle as working directory (then back to `/`).
fn in_dir<T>(dir: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    if unsafe { libc::chdir(cstr(dir).as_ptr()) } < 0 {
        return Err(format!("{dir}: {}", std::io::Error::last_os_error()));
    }
    let out = f();
    unsafe { libc::chdir(c"/".as_ptr()) };
    Ok(out)
}

/// The monitor's listening socket (non-blocking), or None when it cannot be made.
pub fn listen(bundle: &str) -> Option<RawFd> {
    in_dir(bundle, || unsafe {
        let name = cstr(SOCKET);
        libc::unlink(name.as_ptr());
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0);
        if fd < 0 {
            return None;
        }
        let (addr, len) = sockaddr(SOCKET);
        // 0600 (bind makes it 0777 minus the umask): connecting needs write permission on it.
        if libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len) < 0
            || libc::chmod(name.as_ptr(), 0o600) < 0
            || libc::listen(fd, 16) < 0
        {
            libc::close(fd);
            return None;
        }
        Some(fd)
    })
    .ok()
    .flatten()
}

/// Accept one client of the monitor's own user (non-blocking), if one is waiting; clients of
/// any other user are closed unread.
pub fn accept(listener: RawFd) -> Option<RawFd> {
    loop {
        let fd = unsafe { libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        if peer_is_owner(fd) {
            return Some(fd);
        }
        unsafe { libc::close(fd) };
    }
}

/// Is the process at the other end of `fd` of our own user? SO_PEERCRED's uid is seen from
/// our user namespace: the user outside the held namespace is its root, as the monitor is;
/// another user's uid is not mapped there at all (the overflow uid).
pub fn peer_is_owner(fd: RawFd) -> bool {
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, &mut cred as *mut _ as *mut libc::c_void, &mut len) };
    rc == 0 && cred.uid == unsafe { libc::geteuid() }
}

/// Wait until `fd` is ready for `events`, at most `ms`; false on timeout or error.
fn wait_for(fd: RawFd, events: libc::c_short, ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    loop {
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        return n > 0 && p.revents & events != 0;
    }
}

/// Send one message of `kind` + `data`; false when the peer is gone or stuck (5 s).
pub fn send(fd: RawFd, kind: u8, data: &[u8]) -> bool {
    let mut msg = Vec::with_capacity(data.len() + 1);
    msg.push(kind);
    msg.extend_from_slice(data);
    loop {
        let n = unsafe { libc::send(fd, msg.as_ptr() as *const libc::c_void, msg.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        if n >= 0 {
            return true;
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN if wait_for(fd, libc::POLLOUT, 5000) => continue,
            _ => return false,
        }
    }
}

/// Write all of `data` to a (possibly non-blocking) fd; false on error.
pub fn write_all(fd: RawFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        let n = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
        if n > 0 {
            data = &data[n as usize..];
            continue;
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN if wait_for(fd, libc::POLLOUT, 5000) => continue,
            _ => return false,
        }
    }
    true
}

/// Docker's detach-key matching: bytes that may start the sequence are held back until it
/// completes (detach) or breaks (they are passed on).
pub struct DetachKeys {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachKeys {
    pub fn new(keys: Vec<u8>) -> DetachKeys {
        DetachKeys { keys, matched: 0 }
    }

    /// Filter `input` into `out`; true when the whole sequence was typed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return false;
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return true;
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return true;
                }
            } else {
                out.push(b);
            }
        }
        false
    }
}

/// `--detach-keys 16,17` (the CLI parses Docker's syntax into bytes).
pub(crate) fn parse_keys(text: &str) -> Vec<u8> {
    text.split(',').filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect()
}

fn winsize(fd: RawFd) -> Option<[u8; 4]> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 {
        return None;
    }
    let (r, c) = (ws.ws_row.to_le_bytes(), ws.ws_col.to_le_bytes());
    Some([r[0], r[1], c[0], c[1]])
}

/// One line of a `--resize-fd` pipe: `ROWS COLS` (both 1-65535).
pub(crate) fn parse_size(line: &str) -> Option<(u16, u16)> {
    let mut words = line.split_whitespace();
    let rows: u16 = words.next()?.parse().ok()?;
    let cols: u16 = words.next()?.parse().ok()?;
    if words.next().is_some() || rows == 0 || cols == 0 {
        return None;
    }
    Some((rows, cols))
}

/// Read `ROWS COLS` lines from `fd` until its end, calling `apply` for each valid one
/// (others are ignored): `attach --resize-fd` (on a thread), `exec --resize-fd` (in a watcher).
pub(crate) fn read_resizes(fd: RawFd, apply: impl Fn(u16, u16)) {
    use std::io::BufRead;
    // SAFETY: the fd was handed to this process for this and is read here only.
    let file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        if let Some((rows, cols)) = parse_size(&line) {
            apply(rows, cols);
        }
    }
}

/// Signals `--sig-proxy` passes on to the container (Docker: all but those a terminal
/// session needs for itself).
const PROXIED: [libc::c_int; 7] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGCONT];

/// `ncx-runtime attach`: relay stdin/stdout/stderr to a detached container's monitor.
pub fn attach(args: &Args) -> i32 {
    let status = Status { fd: args.get("status-fd").and_then(|s| s.parse().ok()) };
    let fail = |code: i32, message: String| -> i32 {
        if status.fd.is_some() {
            status.send(serde_json::json!({ "event": "error", "code": code, "message": message }));
        } else {
            eprintln!("{message}");
        }
        code
    };
    let bundle = args.require("bundle");
    let sock = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return fail(125, format!("socket: {}", std::io::Error::last_os_error()));
    }
    let connected = in_dir(bundle, || {
        let (addr, len) = sockaddr(SOCKET);
        unsafe { libc::connect(sock, &addr as *const _ as *const libc::sockaddr, len) }
    });
    match connected {
        Ok(0) => {}
        // No monitor listening: the container is not running.
        _ => return fail(1, "You cannot attach to a stopped container, start it first".into()),
    }
    let tty = args.has("--tty");
    let mut stdin_open = !args.has("--no-stdin");
    let mut keys = DetachKeys::new(parse_keys(args.get("detach-keys").unwrap_or("")));
    let term_in = unsafe { libc::isatty(0) } == 1;
    let mut signals = vec![];
    if tty {
        signals.push(libc::SIGWINCH);
    }
    // Without a terminal, signals go to the container (--sig-proxy); with one, ^C is a byte.
    let proxy = args.has("--sig-proxy") && !tty;
    if proxy {
        signals.extend_from_slice(&PROXIED);
    }
    let (set, _) = block_signals(&signals);
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    let mut saved: Option<libc::termios> = None;
    if tty && stdin_open && term_in {
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(0, &mut t) } == 0 {
            saved = Some(t);
            let mut raw = t;
            unsafe {
                libc::cfmakeraw(&mut raw);
                libc::tcsetattr(0, libc::TCSANOW, &raw);
            }
        }
    }
    let restore = |saved: &Option<libc::termios>| {
        if let Some(t) = saved {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    };
    if tty {
        if let Some(ws) = winsize(0).or_else(|| winsize(1)) {
            send(sock, RESIZE, &ws);
        }
    }
    // Sizes sent from --resize-fd and not acknowledged yet, and where acknowledgements go.
    let pending = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut ack_fd: Option<RawFd> = None;
    if let Some(fd) = args.get("resize-fd") {
        let Ok(fd) = fd.parse::<RawFd>() else { return fail(125, format!("invalid --resize-fd {fd:?}")) };
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        ack_fd = (dup >= 0).then_some(dup);
        let waiting = pending.clone();
        std::thread::spawn(move || {
            use std::sync::atomic::Ordering;
            read_resizes(fd, |rows, cols| {
                let (r, c) = (rows.to_le_bytes(), cols.to_le_bytes());
                waiting.fetch_add(1, Ordering::SeqCst);
                if !send(sock, RESIZE, &[r[0], r[1], c[0], c[1]]) {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                }
            });
            // The pipe's end ends the session (the loop below sees the socket's end), once
            // the sizes sent were applied (an older monitor never says: 1 s at most).
            let end = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while waiting.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < end {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            unsafe { libc::shutdown(sock, libc::SHUT_RDWR) };
        });
    }
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let mut fds = vec![libc::pollfd { fd: sock, events: libc::POLLIN, revents: 0 }, libc::pollfd { fd: sfd, events: libc::POLLIN, revents: 0 }];
        if stdin_open {
            fds.push(libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 });
        }
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            let n = unsafe { libc::recv(sock, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            if n <= 0 {
                if n < 0 && errno() == libc::EINTR {
                    continue;
                }
                // The monitor went away without an exit code (killed): nothing more to relay.
                restore(&saved);
                status.send(serde_json::json!({ "event": "closed" }));
                return 0;
            }
            let data = &buf[1..n as usize];
            match buf[0] {
                STDOUT => {
                    write_all(1, data);
                }
                STDERR => {
                    write_all(2, data);
                }
                RESIZED if data.len() >= 4 => {
                    // Acknowledge on the resize pipe (a socket: the engine reads it) before the
                    // count drops, so the session never ends ahead of the line.
                    if let Some(a) = ack_fd {
                        let line = format!("{} {}\n", u16::from_le_bytes([data[0], data[1]]), u16::from_le_bytes([data[2], data[3]]));
                        write_all(a, line.as_bytes());
                    }
                    let _ = pending.fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| n.checked_sub(1));
                }
                EXIT => {
                    let code = if data.len() >= 4 { i32::from_le_bytes([data[0], data[1], data[2], data[3]]) } else { 125 };
                    restore(&saved);
                    status.send(serde_json::json!({ "event": "exit", "code": code }));
                    return code;
                }
                _ => {}
            }
        }
        if fds[1].revents != 0 {
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let n = unsafe { libc::read(sfd, &mut info as *mut _ as *mut libc::c_void, std::mem::size_of::<libc::signalfd_siginfo>()) };
            if n > 0 {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let Some(ws) = winsize(0).or_else(|| winsize(1)) {
                        send(sock, RESIZE, &ws);
                    }
                } else {
                    send(sock, SIGNAL, &[sig as u8]);
                }
            }
        }
        if fds.len() > 2 && fds[2].revents != 0 {
            let n = unsafe { libc::read(0, buf.as_mut_ptr() as *mut libc::c_void, buf.len() - 1) };
            if n < 0 && (errno() == libc::EINTR || errno() == libc::EAGAIN) {
                continue;
            }
            if n <= 0 {
                stdin_open = false;
                send(sock, CLOSE_STDIN, &[]);
                continue;
            }
            let mut out = Vec::with_capacity(n as usize);
            let detach = keys.feed(&buf[..n as usize], &mut out);
            if !out.is_empty() && !send(sock, STDIN, &out) {
                stdin_open = false;
            }
            if detach {
                restore(&saved);
                write_all(2, DETACHED_MESSAGE);
                status.send(serde_json::json!({ "event": "detached" }));
                return 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_size, DetachKeys};

    #[test]
    fn resize_lines() {
        assert_eq!(parse_size("30 100"), Some((30, 100)));
        assert_eq!(parse_size(" 24  80 \r"), Some((24, 80)));
        assert_eq!(parse_size("0 80"), None);
        assert_eq!(parse_size("24"), None);
        assert_eq!(parse_size("24 80 1"), None);
        assert_eq!(parse_size("24 70000"), None);
        assert_eq!(parse_size("-1 80"), None);
        assert_eq!(parse_size(""), None);
    }

    fn run(keys: &[u8], chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut d = DetachKeys::new(keys.to_vec());
        let mut out = vec![];
        for c in chunks {
            if d.feed(c, &mut out) {
                return (out, true);
            }
        }
        (out, false)
    }

    #[test]
    fn detaches_on_the_whole_sequence_even_across_reads() {
        assert_eq!(run(&[16, 17], &[b"ab\x10", b"\x11zz"]), (b"ab".to_vec(), true));
    }

    #[test]
    fn passes_on_a_broken_sequence() {
        assert_eq!(run(&[16, 17], &[b"\x10x", b"\x10\x10\x11"]), (b"\x10x\x10".to_vec(), true));
        assert_eq!(run(&[16, 17], &[b"\x10y"]), (b"\x10y".to_vec(), false));
    }

    #[test]
    fn no_keys_never_detach() {
        assert_eq!(run(&[], &[b"\x10\x11"]), (b"\x10\x11".to_vec(), false));
    }

    /// A client of another user (here: a child that became `nobody`) is hung up on; the
    /// monitor's own user is let in. Becoming another user takes root, as the tests run in CI.
    #[test]
    fn only_the_owner_may_attach() {
        use super::{accept, listen, SOCKET};
        use ncx_core::sys::cstr;
        assert_eq!(unsafe { libc::geteuid() }, 0, "this test switches a child to another uid: run cargo test as root (CI does)");
        let dir = std::env::temp_dir().join(format!("ncx-attach-peer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bundle = dir.to_str().unwrap().to_string();
        let listener = listen(&bundle).expect("listen");
        // What the store's 0700 directories and the 0600 socket normally stop: opened up here so
        // that only the peer check is left to refuse.
        unsafe {
            libc::chmod(cstr(&bundle).as_ptr(), 0o755);
            libc::chmod(cstr(&format!("{bundle}/{SOCKET}")).as_ptr(), 0o666);
        }
        // Built before the fork: the child only makes system calls (no allocation after fork).
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (i, b) in format!("{bundle}/{SOCKET}").bytes().enumerate() {
            addr.sun_path[i] = b as libc::c_char;
        }
        let connect = || unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
            let rc = libc::connect(fd, &addr as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_un>() as u32);
            (fd, rc)
        };
        let child = unsafe { libc::fork() };
        if child == 0 {
            let ok = unsafe { libc::setresgid(65534, 65534, 65534) == 0 && libc::setresuid(65534, 65534, 65534) == 0 };
            let (_, rc) = connect();
            unsafe { libc::_exit(if ok && rc == 0 { 0 } else { 1 }) };
        }
        let mut status = 0;
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(libc::WEXITSTATUS(status), 0, "the other user could not even connect: the test proves nothing");
        assert_eq!(accept(listener), None, "a client of another user was accepted");
        let (mine, rc) = connect();
        assert_eq!(rc, 0);
        let accepted = accept(listener).expect("the owner's client was refused");
        unsafe {
            libc::close(accepted);
            libc::close(mine);
            libc::close(listener);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
