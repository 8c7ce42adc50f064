//! Published ports: the listening sockets, bound in the host's network namespace before
//! anything is joined (so errors name the cause: in use, privileged, not an address here),
//! and the forwarder (`ncx-forward`, a child of the monitor or of a foreground `run`) that
//! relays TCP connections (../relay.rs) and UDP datagrams to the container's address inside its
//! own network namespace, as RootlessKit's builtin port driver does: faster than slirp4netns's
//! port forwarding.

use crate::relay::Conn;
use super::{setns_path, to_null};
use crate::sys::{RealSys, Sys};
use crate::Args;
use ncx_core::net::{parse_publish, Publish};
use ncx_core::sys::errno;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Listening sockets, opened in the caller's (the host's) network namespace.
#[derive(Clone, Debug)]
pub struct Listeners {
    pub socks: Vec<(RawFd, Publish)>,
}

impl Listeners {
    /// The ports actually bound (random ports resolved), for the engine.
    pub fn report(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.socks
                .iter()
                .map(|(_, p)| {
                    serde_json::json!({ "proto": p.proto, "hostIp": p.host_ip.to_string(), "hostPort": p.host_port, "containerPort": p.container_port })
                })
                .collect(),
        )
    }
}

fn unprivileged_port_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1024)
}

/// Bind every published port (before any namespace is joined). Errors name the cause.
pub fn bind_ports(args: &Args) -> Result<Option<Listeners>, String> {
    crate::bypass::configure(args);
    let Some(text) = args.get("publish") else { return Ok(None) };
    bind_all(&mut RealSys, parse_publish(text)?).map(Some)
}

/// Open, bind (and for TCP, listen on) a socket per published port; a port 0 gets the one
/// the kernel chose. On an error every socket opened so far is closed.
pub(super) fn bind_all(sys: &mut dyn Sys, specs: Vec<Publish>) -> Result<Listeners, String> {
    let mut socks: Vec<(RawFd, Publish)> = Vec::new();
    let close_all = |sys: &mut dyn Sys, s: &Vec<(RawFd, Publish)>| {
        for (fd, _) in s {
            sys.close(*fd);
        }
    };
    for mut p in specs {
        let ty = if p.proto == "udp" { libc::SOCK_DGRAM } else { libc::SOCK_STREAM };
        let family = if p.host_ip.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
        let fd = match sys.socket(family, ty) {
            Ok(fd) => fd,
            Err(e) => {
                close_all(sys, &socks);
                if e == libc::EAFNOSUPPORT {
                    return Err(format!("cannot publish [{}]:{}/{}: IPv6 is not enabled on this host", p.host_ip, p.host_port, p.proto));
                }
                return Err(format!("socket: {}", std::io::Error::from_raw_os_error(e)));
            }
        };
        sys.sockopt_on(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR);
        if family == libc::AF_INET6 {
            // `[::]:PORT` is IPv6 only, as Docker's: `0.0.0.0:PORT` may be another publish.
            sys.sockopt_on(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY);
        }
        let what = std::net::SocketAddr::new(p.host_ip, p.host_port);
        if let Err(e) = sys.bind(fd, what) {
            sys.close(fd);
            close_all(sys, &socks);
            return Err(match e {
                libc::EADDRINUSE => format!("cannot publish {what}/{}: the address is already in use", p.proto),
                libc::EACCES | libc::EPERM => format!(
                    "cannot publish {what}/{}: ports below {} need privileges (sudo sysctl -w net.ipv4.ip_unprivileged_port_start={})",
                    p.proto,
                    unprivileged_port_start(),
                    p.host_port
                ),
                libc::EADDRNOTAVAIL => format!("cannot publish {what}/{}: {} is not an address of this host", p.proto, p.host_ip),
                _ => format!("cannot publish {what}/{}: {}", p.proto, std::io::Error::from_raw_os_error(e)),
            });
        }
        if p.proto == "tcp" {
            if let Err(e) = sys.listen(fd, 1024) {
                sys.close(fd);
                close_all(sys, &socks);
                return Err(format!("listen: {}", std::io::Error::from_raw_os_error(e)));
            }
        }
        if p.host_port == 0 {
            p.host_port = sys.local_port(fd);
        }
        socks.push((fd, p));
    }
    Ok(Listeners { socks })
}

/// A socket address for bind/connect/sendto, and its length.
pub(crate) fn sockaddr(ip: std::net::IpAddr, port: u16) -> (libc::sockaddr_storage, u32) {
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match ip {
        std::net::IpAddr::V4(v4) => {
            let a = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in) };
            a.sin_family = libc::AF_INET as libc::sa_family_t;
            a.sin_port = port.to_be();
            a.sin_addr.s_addr = u32::from(v4).to_be();
            (ss, std::mem::size_of::<libc::sockaddr_in>() as u32)
        }
        std::net::IpAddr::V6(v6) => {
            let a = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6) };
            a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            a.sin6_port = port.to_be();
            a.sin6_addr.s6_addr = v6.octets();
            (ss, std::mem::size_of::<libc::sockaddr_in6>() as u32)
        }
    }
}

/// Fork the forwarder: it joins `netns` (or, `state:FILE`, the container's namespace at each
/// connection; the caller already is in the user namespace) and relays every connection to
/// the container's address. It dies with its parent (the monitor, or a foreground `run`).
pub fn spawn_forwarder(l: &Listeners, netns: &str) -> Result<i32, String> {
    // Port bypass (bypass.rs): a socket pair on which the container hands over its seccomp listener.
    let ctl = crate::bypass::control_pair(&l.socks);
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid > 0 {
        if let Some((ours, theirs)) = ctl {
            unsafe { libc::close(theirs) };
            crate::bypass::set_control(ours);
        }
        return Ok(pid);
    }
    let parent = unsafe { libc::getppid() };
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        libc::prctl(libc::PR_SET_NAME, c"ncx-forward".as_ptr() as libc::c_ulong, 0, 0, 0);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        to_null();
        // Keep only the listeners.
        let mut keep: Vec<RawFd> = l.socks.iter().map(|(fd, _)| *fd).collect();
        keep.extend(ctl.map(|(_, theirs)| theirs));
        for fd in 3..4096 {
            if !keep.contains(&fd) {
                libc::close(fd);
            }
        }
    }
    // (before any setns below: the bypass thread lives in the host's network namespace)
    if let Some((_, theirs)) = ctl {
        crate::bypass::spawn_supervisor(theirs, l.socks.clone());
    }
    let state = netns.strip_prefix("state:").map(str::to_string);
    if state.is_none() && setns_path(netns, libc::CLONE_NEWNET).is_err() {
        unsafe { libc::_exit(1) };
    }
    // More than one relaying thread where there are cores for them (iperf3 -P, parallel
    // downloads): each takes the TCP connections it accepts first; UDP stays with the main
    // thread (one session per peer). Threads made after setns are in the namespace too.
    let tcp: Vec<(RawFd, Publish)> = l.socks.iter().filter(|(_, p)| p.proto == "tcp").cloned().collect();
    if !tcp.is_empty() {
        for _ in 1..forward_threads() {
            let (socks, state) = (tcp.clone(), state.clone());
            let _ = std::thread::Builder::new().stack_size(256 * 1024).spawn(move || forward_loop(&Listeners { socks }, &mut Target { state, inode: 0 }));
        }
    }
    forward_loop(l, &mut Target { state, inode: 0 })
}

/// Relaying threads: one per core, at most 4.
fn forward_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4)
}

/// One UDP peer of a published UDP port: a connected socket towards the container.
struct UdpSession {
    listener: RawFd,
    /// The peer (IPv4 or IPv6, as the listener is) and its length.
    client: libc::sockaddr_storage,
    client_len: u32,
    upstream: RawFd,
    last: Instant,
}

const UDP_IDLE: Duration = Duration::from_secs(60);

fn same_addr(a: &libc::sockaddr_storage, b: &libc::sockaddr_storage, len: u32) -> bool {
    let bytes = |s: &libc::sockaddr_storage| unsafe { std::slice::from_raw_parts(s as *const _ as *const u8, len as usize) };
    bytes(a) == bytes(b)
}

/// Relay datagrams that arrived on a published UDP port to the container.
fn udp_in(lfd: RawFd, p: &Publish, sessions: &mut Vec<UdpSession>, buf: &mut [u8], target: &mut Target) {
    loop {
        let mut from: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        let n = unsafe { libc::recvfrom(lfd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0, &mut from as *mut _ as *mut libc::sockaddr, &mut len) };
        if n < 0 {
            return;
        }
        let idx = match sessions.iter().position(|s| s.listener == lfd && s.client_len == len && same_addr(&s.client, &from, len)) {
            Some(i) => i,
            None => {
                if !target.enter() {
                    continue;
                }
                let up = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
                if up < 0 {
                    continue;
                }
                let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
                addr.sin_family = libc::AF_INET as libc::sa_family_t;
                addr.sin_port = p.container_port.to_be();
                addr.sin_addr.s_addr = u32::from(p.container_ip).to_be();
                if unsafe { libc::connect(up, &addr as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in>() as u32) } < 0 {
                    unsafe { libc::close(up) };
                    continue;
                }
                sessions.push(UdpSession { listener: lfd, client: from, client_len: len, upstream: up, last: Instant::now() });
                sessions.len() - 1
            }
        };
        let s = &mut sessions[idx];
        s.last = Instant::now();
        unsafe { libc::send(s.upstream, buf.as_ptr() as *const libc::c_void, n as usize, 0) };
    }
}

/// Relay the container's replies back to the peer, from the published address.
fn udp_out(s: &mut UdpSession, buf: &mut [u8]) {
    loop {
        let n = unsafe { libc::recv(s.upstream, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            return;
        }
        s.last = Instant::now();
        unsafe {
            libc::sendto(s.listener, buf.as_ptr() as *const libc::c_void, n as usize, 0, &s.client as *const _ as *const libc::sockaddr, s.client_len)
        };
    }
}

/// Where the forwarder makes its connections: the namespace it joined at the start, or
/// (`state:FILE`, `--network slirp4netns`) the namespace of the pid in the container's state
/// file, joined again whenever the container has restarted (a new namespace each time).
struct Target {
    state: Option<String>,
    inode: u64,
}

impl Target {
    fn enter(&mut self) -> bool {
        let Some(path) = &self.state else { return true };
        let pid = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).and_then(|v| v.get("pid").and_then(|p| p.as_i64())).unwrap_or(0);
        if pid <= 0 {
            return false;
        }
        let ns = format!("/proc/{pid}/ns/net");
        let Ok(meta) = std::fs::metadata(&ns) else { return false };
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        if inode == self.inode {
            return true;
        }
        if setns_path(&ns, libc::CLONE_NEWNET).is_err() {
            return false;
        }
        self.inode = inode;
        true
    }
}

fn forward_loop(l: &Listeners, target: &mut Target) -> ! {
    let mut conns: Vec<Conn> = Vec::new();
    let mut sessions: Vec<UdpSession> = Vec::new();
    let mut dgram = vec![0u8; 65536];
    loop {
        // Idle UDP sessions expire.
        sessions.retain(|s| {
            let keep = s.last.elapsed() < UDP_IDLE;
            if !keep {
                unsafe { libc::close(s.upstream) };
            }
            keep
        });
        let mut fds: Vec<libc::pollfd> = l.socks.iter().map(|(fd, _)| libc::pollfd { fd: *fd, events: if crate::bypass::BYPASSED.has(*fd) { 0 } else { libc::POLLIN }, revents: 0 }).collect();
        for s in &sessions {
            fds.push(libc::pollfd { fd: s.upstream, events: libc::POLLIN, revents: 0 });
        }
        for c in &conns {
            fds.extend(c.pollfds());
        }
        let timeout = if sessions.is_empty() { -1 } else { 10_000 };
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) } < 0 {
            continue;
        }
        let nl = l.socks.len() + sessions.len();
        for (i, s) in sessions.iter_mut().enumerate() {
            if fds[l.socks.len() + i].revents != 0 {
                udp_out(s, &mut dgram);
            }
        }
        for (i, c) in conns.iter_mut().enumerate() {
            c.on_events(fds[nl + 2 * i], fds[nl + 2 * i + 1]);
        }
        Conn::reap(&mut conns);
        for (i, (lfd, p)) in l.socks.iter().enumerate() {
            if fds[i].revents & libc::POLLIN == 0 {
                continue;
            }
            if p.proto == "udp" {
                udp_in(*lfd, p, &mut sessions, &mut dgram, target);
                continue;
            }
            // (port bypass: the container serves this socket itself now)
            if crate::bypass::BYPASSED.has(*lfd) {
                continue;
            }
            loop {
                let client = unsafe { libc::accept4(*lfd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) };
                if client < 0 {
                    break;
                }
                if !target.enter() {
                    unsafe { libc::close(client) };
                    continue;
                }
                let up = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
                if up < 0 {
                    unsafe { libc::close(client) };
                    continue;
                }
                let one: libc::c_int = 1;
                for fd in [client, up] {
                    unsafe { libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &one as *const _ as *const libc::c_void, 4) };
                }
                let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
                addr.sin_family = libc::AF_INET as libc::sa_family_t;
                addr.sin_port = p.container_port.to_be();
                addr.sin_addr.s_addr = u32::from(p.container_ip).to_be();
                let rc = unsafe { libc::connect(up, &addr as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_in>() as u32) };
                if rc < 0 && errno() != libc::EINPROGRESS {
                    unsafe {
                        libc::close(client);
                        libc::close(up);
                    }
                    continue;
                }
                conns.extend(Conn::new(client, up, rc < 0));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::RecordingSys;

    fn specs(text: &str) -> Vec<Publish> {
        parse_publish(text).unwrap()
    }

    #[test]
    fn each_port_is_bound_and_a_random_one_resolved() {
        let mut sys = RecordingSys { ephemeral: 40123, ..RecordingSys::new() };
        let l = bind_all(&mut sys, specs("tcp:127.0.0.1:8080:10.88.0.2:80,udp:0.0.0.0:0:10.88.0.2:53")).unwrap();
        assert_eq!(
            sys.calls,
            [
                "socket inet tcp",
                "sockopt 100 SO_REUSEADDR",
                "bind 100 127.0.0.1:8080",
                "listen 100 1024",
                "socket inet udp",
                "sockopt 101 SO_REUSEADDR",
                "bind 101 0.0.0.0:0",
                "local_port 101",
            ]
        );
        assert_eq!(l.socks.iter().map(|(fd, p)| (*fd, p.host_port)).collect::<Vec<_>>(), [(100, 8080), (101, 40123)]);
        let report = l.report();
        assert_eq!(report[1]["hostPort"], 40123);
        assert_eq!(report[1]["proto"], "udp");
        assert_eq!(report[0]["containerPort"], 80);
    }

    #[test]
    fn an_ipv6_port_is_ipv6_only() {
        let mut sys = RecordingSys::new();
        bind_all(&mut sys, specs("tcp:[::]:8080:10.88.0.2:80")).unwrap();
        assert_eq!(sys.calls[..3], ["socket inet6 tcp", "sockopt 100 SO_REUSEADDR", "sockopt 100 IPV6_V6ONLY"]);
    }

    #[test]
    fn a_port_that_cannot_be_bound_says_why_and_closes_every_socket() {
        for (errno, why) in [
            (libc::EADDRINUSE, "cannot publish 0.0.0.0:9090/tcp: the address is already in use"),
            (libc::EACCES, "cannot publish 0.0.0.0:9090/tcp: ports below "),
            (libc::EADDRNOTAVAIL, "cannot publish 0.0.0.0:9090/tcp: 0.0.0.0 is not an address of this host"),
        ] {
            let mut sys = RecordingSys { fail: vec![("bind 101".into(), errno)], ..RecordingSys::new() };
            let e = bind_all(&mut sys, specs("tcp:0.0.0.0:8080:10.88.0.2:80,tcp:0.0.0.0:9090:10.88.0.2:90")).unwrap_err();
            assert!(e.starts_with(why), "{errno}: {e}");
            assert!(sys.open.is_empty(), "{errno}: {:?}", sys.open);
        }
        let mut sys = RecordingSys { fail: vec![("bind".into(), libc::EPERM)], ..RecordingSys::new() };
        let e = bind_all(&mut sys, specs("tcp:0.0.0.0:80:10.88.0.2:80")).unwrap_err();
        assert!(e.contains("net.ipv4.ip_unprivileged_port_start=80"), "the fix is in the message: {e}");
    }

    #[test]
    fn no_ipv6_on_the_host_and_a_failed_listen_are_errors_that_leak_nothing() {
        let mut sys = RecordingSys { fail: vec![("socket inet6".into(), libc::EAFNOSUPPORT)], ..RecordingSys::new() };
        let e = bind_all(&mut sys, specs("tcp:0.0.0.0:8080:10.88.0.2:80,tcp:[::]:8080:10.88.0.2:80")).unwrap_err();
        assert_eq!(e, "cannot publish [::]:8080/tcp: IPv6 is not enabled on this host");
        assert!(sys.open.is_empty(), "{:?}", sys.open);
        let mut sys = RecordingSys { fail: vec![("listen".into(), libc::EADDRINUSE)], ..RecordingSys::new() };
        let e = bind_all(&mut sys, specs("tcp:0.0.0.0:8080:10.88.0.2:80")).unwrap_err();
        assert!(e.starts_with("listen: Address already in use"), "{e}");
        assert!(sys.open.is_empty(), "{:?}", sys.open);
    }

    #[test]
    fn socket_addresses_carry_the_port_in_network_order() {
        let (ss, len) = sockaddr("10.1.2.3".parse().unwrap(), 8080);
        assert_eq!(len as usize, std::mem::size_of::<libc::sockaddr_in>());
        let a = unsafe { &*(&ss as *const _ as *const libc::sockaddr_in) };
        assert_eq!((a.sin_family as i32, u16::from_be(a.sin_port), u32::from_be(a.sin_addr.s_addr)), (libc::AF_INET, 8080, 0x0a010203));
        let (ss, len) = sockaddr("::1".parse().unwrap(), 443);
        assert_eq!(len as usize, std::mem::size_of::<libc::sockaddr_in6>());
        let a = unsafe { &*(&ss as *const _ as *const libc::sockaddr_in6) };
        assert_eq!((a.sin6_family as i32, u16::from_be(a.sin6_port), a.sin6_addr.s6_addr[15]), (libc::AF_INET6, 443, 1));
    }
}
