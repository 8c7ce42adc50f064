//! The port bypass's supervisor thread, in the forwarder and the host's network namespace:
//! it takes each container start's seccomp listener from the control socket, answers the
//! notifications (`handle`), runs the reverse relays of the bypassed ports inside the
//! container's namespace, and gives the host listeners back to the forwarder when the
//! container's processes are gone.

use super::*;


/// A reverse relay: a listener in the container's namespace, relayed to the host socket.
struct Reverse {
    fd: RawFd,
    port: u16,
    upstream: libc::sockaddr_in,
}

/// One container start: its seccomp listener, what it bypassed, its reverse relays.
struct Session {
    listener: RawFd,
    hosts: Vec<RawFd>,
    reverse: Vec<Reverse>,
}

/// Start the supervisor thread: `ctl` brings each container start's listener.
pub fn spawn_supervisor(ctl: RawFd, socks: Vec<(RawFd, Publish)>) {
    let _ = std::thread::Builder::new().name("ncx-bypass".into()).stack_size(256 * 1024).spawn(move || supervise(ctl, socks));
}

/// The next listener fd from the control socket (-1 for a message without one); None at EOF.
fn recv_fd(ctl: RawFd) -> Option<RawFd> {
    let mut b = [0u8; 8];
    match crate::fdpass::recv_with_fd(ctl, &mut b) {
        Ok((n, fd)) if n > 0 => Some(fd.unwrap_or(-1)),
        _ => None,
    }
}

/// A listener on `0.0.0.0:port` inside process `pid`'s network namespace. IPv4 only: an
/// application that binds the IPv4 port (bypassed) and then `[::]:port` with IPV6_V6ONLY
/// (nginx's default `listen 80; listen [::]:80;`) keeps its IPv6 socket. Made by a short-lived thread: a thread that joins the container's namespace
/// cannot come back (the host's namespace belongs to the initial user namespace), and the
/// socket stays in the namespace it was made in.
fn reverse_listener(pid: u32, port: u16) -> Option<RawFd> {
    std::thread::Builder::new().stack_size(64 * 1024).spawn(move || reverse_listener_here(pid, port)).ok()?.join().ok()?
}

fn reverse_listener_here(pid: u32, port: u16) -> Option<RawFd> {
    let ns = ncx_core::sys::cstr(&format!("/proc/{pid}/ns/net"));
    let nsfd = unsafe { libc::open(ns.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if nsfd < 0 {
        return None;
    }
    let entered = unsafe { libc::setns(nsfd, libc::CLONE_NEWNET) } == 0;
    unsafe { libc::close(nsfd) };
    if !entered {
        return None;
    }
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_port = port.to_be();
    let rc = unsafe { libc::bind(fd, &a as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in>() as u32) };
    if rc < 0 || unsafe { libc::listen(fd, 1024) } < 0 {
        unsafe { libc::close(fd) };
        return None;
    }
    Some(fd)
}

/// Where the reverse relay connects: the host listener's address (loopback for the wildcard).
fn upstream_of(p: &Publish) -> libc::sockaddr_in {
    let ip = match p.host_ip {
        std::net::IpAddr::V4(ip) if !ip.is_unspecified() => ip,
        _ => Ipv4Addr::LOCALHOST,
    };
    let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_port = p.host_port.to_be();
    a.sin_addr.s_addr = u32::from(ip).to_be();
    a
}

/// A container start is over: close its reverse relays and give its host listeners back to
/// the forwarder (those a newer start has not taken again).
fn end_session(s: Session, others: &[Session]) {
    unsafe { libc::close(s.listener) };
    for r in &s.reverse {
        unsafe { libc::close(r.fd) };
    }
    for h in s.hosts.iter().filter(|h| !others.iter().any(|o| o.hosts.contains(h))) {
        // Serve it again (non-blocking, as the forwarder's threads need it).
        let fl = unsafe { libc::fcntl(*h, libc::F_GETFL) };
        if fl >= 0 {
            unsafe { libc::fcntl(*h, libc::F_SETFL, fl | libc::O_NONBLOCK) };
        }
        BYPASSED.remove(*h);
    }
}

fn supervise(ctl: RawFd, socks: Vec<(RawFd, Publish)>) {
    let mut sessions: Vec<Session> = Vec::new();
    let mut conns: Vec<crate::relay::Conn> = Vec::new();
    let mut ctl_open = true;
    let mut sys = RealNotify;
    loop {
        // Layout: ctl, each session's listener, each reverse listener, each conn (2).
        let mut fds = vec![libc::pollfd { fd: if ctl_open { ctl } else { -1 }, events: libc::POLLIN, revents: 0 }];
        for s in &sessions {
            fds.push(libc::pollfd { fd: s.listener, events: libc::POLLIN, revents: 0 });
        }
        let mut rev: Vec<(RawFd, libc::sockaddr_in)> = Vec::new();
        for s in &sessions {
            for r in &s.reverse {
                fds.push(libc::pollfd { fd: r.fd, events: libc::POLLIN, revents: 0 });
                rev.push((r.fd, r.upstream));
            }
        }
        for c in &conns {
            fds.extend(c.pollfds());
        }
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        let base = 1 + sessions.len() + rev.len();
        for (i, c) in conns.iter_mut().enumerate() {
            c.on_events(fds[base + 2 * i], fds[base + 2 * i + 1]);
        }
        crate::relay::Conn::reap(&mut conns);
        for (i, (fd, upstream)) in rev.iter().enumerate() {
            if fds[1 + sessions.len() + i].revents & libc::POLLIN == 0 {
                continue;
            }
            loop {
                let client = unsafe { libc::accept4(*fd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) };
                if client < 0 {
                    break;
                }
                let up = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
                if up < 0 {
                    unsafe { libc::close(client) };
                    continue;
                }
                let rc = unsafe { libc::connect(up, upstream as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in>() as u32) };
                if rc < 0 && ncx_core::sys::errno() != libc::EINPROGRESS {
                    unsafe {
                        libc::close(client);
                        libc::close(up);
                    }
                    continue;
                }
                conns.extend(crate::relay::Conn::new(client, up, rc < 0));
            }
        }
        // Notifications; a listener whose container is gone reports POLLHUP.
        let mut ended = Vec::new();
        for (i, s) in sessions.iter_mut().enumerate() {
            let re = fds[1 + i].revents;
            if re & libc::POLLIN != 0 {
                if let Ok(Outcome::Bypassed { index, pid }) = handle(&mut sys, s.listener, &socks, &BYPASSED) {
                    let host = socks[index].0;
                    if !s.hosts.contains(&host) {
                        s.hosts.push(host);
                    }
                    let port = socks[index].1.container_port;
                    if !s.reverse.iter().any(|r| r.port == port) {
                        if let Some(fd) = reverse_listener(pid, port) {
                            s.reverse.push(Reverse { fd, port, upstream: upstream_of(&socks[index].1) });
                        }
                    }
                }
            } else if re & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
                ended.push(i);
            }
        }
        for i in ended.into_iter().rev() {
            let s = sessions.remove(i);
            end_session(s, &sessions);
        }
        if ctl_open && fds[0].revents != 0 {
            match recv_fd(ctl) {
                Some(fd) if fd >= 0 => sessions.push(Session { listener: fd, hosts: Vec::new(), reverse: Vec::new() }),
                Some(_) => {}
                None => ctl_open = false,
            }
        }
    }
}
