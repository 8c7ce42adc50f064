//! The port bypass's unit tests: the decision through a fake `NotifySys`, the address parsing.

use super::*;

fn publish(proto: &str, cport: u16, cip: [u8; 4]) -> Publish {
    Publish { proto: proto.into(), host_ip: Ipv4Addr::UNSPECIFIED.into(), host_port: 8080, container_ip: Ipv4Addr::from(cip), container_port: cport }
}

fn sockaddr_in(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    b[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

fn sockaddr_in6(ip: Ipv6Addr, port: u16) -> Vec<u8> {
    let mut b = vec![0u8; 28];
    b[0..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[8..24].copy_from_slice(&ip.octets());
    b
}

/// Records every call; answers from its fields.
struct Fake {
    notif: Notif,
    mem: Vec<u8>,
    valid: bool,
    info: SockInfo,
    addfd_errno: Option<i32>,
    respond_errno: Option<i32>,
    calls: Vec<String>,
}

impl Fake {
    fn bind(mem: Vec<u8>, info: SockInfo) -> Fake {
        let mut n = Notif { id: 7, pid: 4242, ..Default::default() };
        n.data.nr = SYS_BIND_X86_64 as i32;
        n.data.args = [5, 0x1000, mem.len() as u64, 0, 0, 0];
        Fake { notif: n, mem, valid: true, info, addfd_errno: None, respond_errno: None, calls: Vec::new() }
    }
}

impl NotifySys for Fake {
    fn recv(&mut self, _: RawFd) -> Result<Notif, BypassError> {
        self.calls.push("recv".into());
        Ok(self.notif)
    }
    fn read_mem(&mut self, pid: u32, addr: u64, len: usize) -> Result<Vec<u8>, BypassError> {
        self.calls.push(format!("read {pid} {addr:#x} {len}"));
        Ok(self.mem[..len.min(self.mem.len())].to_vec())
    }
    fn id_valid(&mut self, _: RawFd, id: u64) -> bool {
        self.calls.push(format!("valid {id}"));
        self.valid
    }
    fn socket_info(&mut self, pid: u32, fd: i32) -> Result<SockInfo, BypassError> {
        self.calls.push(format!("info {pid} {fd}"));
        Ok(self.info)
    }
    fn adopt(&mut self, host: RawFd, like: &SockInfo) -> Result<(), BypassError> {
        self.calls.push(format!("adopt {host} nonblock={}", like.nonblock));
        Ok(())
    }
    fn add_fd(&mut self, _: RawFd, id: u64, src: RawFd, target: i32, cloexec: bool) -> Result<(), BypassError> {
        self.calls.push(format!("addfd {id} {src}->{target} cloexec={cloexec}"));
        match self.addfd_errno {
            Some(errno) => Err(BypassError { call: "SECCOMP_IOCTL_NOTIF_ADDFD", errno }),
            None => Ok(()),
        }
    }
    fn respond(&mut self, _: RawFd, id: u64, val: i64, continue_: bool) -> Result<(), BypassError> {
        self.calls.push(if continue_ { format!("continue {id}") } else { format!("return {id} {val}") });
        match self.respond_errno {
            Some(errno) => Err(BypassError { call: "SECCOMP_IOCTL_NOTIF_SEND", errno }),
            None => Ok(()),
        }
    }
}

fn tcp4() -> SockInfo {
    SockInfo { domain: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0, ..Default::default() }
}

fn socks() -> Vec<(RawFd, Publish)> {
    vec![(30, publish("udp", 53, [10, 88, 0, 2])), (31, publish("tcp", 80, [10, 88, 0, 2]))]
}

#[test]
fn parses_ipv4_and_ipv6_sockaddrs() {
    assert_eq!(parse_sockaddr(&sockaddr_in([10, 0, 0, 1], 80)), BindAddr::V4(Ipv4Addr::new(10, 0, 0, 1), 80));
    assert_eq!(parse_sockaddr(&sockaddr_in6(Ipv6Addr::UNSPECIFIED, 443)), BindAddr::V6(Ipv6Addr::UNSPECIFIED, 443));
    assert_eq!(parse_sockaddr(&[1, 0, b'/', b'x']), BindAddr::Other);
    assert_eq!(parse_sockaddr(&[2]), BindAddr::Other);
}

#[test]
fn only_published_tcp_ports_on_the_wildcard_or_the_container_address() {
    let ports = vec![publish("udp", 80, [10, 88, 0, 2]), publish("tcp", 80, [10, 88, 0, 2])];
    assert_eq!(published(BindAddr::V4(Ipv4Addr::UNSPECIFIED, 80), &ports), Some(1));
    assert_eq!(published(BindAddr::V4(Ipv4Addr::new(10, 88, 0, 2), 80), &ports), Some(1));
    assert_eq!(published(BindAddr::V4(Ipv4Addr::LOCALHOST, 80), &ports), None);
    assert_eq!(published(BindAddr::V4(Ipv4Addr::UNSPECIFIED, 81), &ports), None);
    assert_eq!(published(BindAddr::V4(Ipv4Addr::UNSPECIFIED, 0), &ports), None);
    assert_eq!(published(BindAddr::V6(Ipv6Addr::UNSPECIFIED, 80), &ports), Some(1));
    assert_eq!(published(BindAddr::V6(Ipv4Addr::UNSPECIFIED.to_ipv6_mapped(), 80), &ports), Some(1));
    assert_eq!(published(BindAddr::V6(Ipv6Addr::LOCALHOST, 80), &ports), None);
    assert_eq!(published(BindAddr::Other, &ports), None);
    // An IPv6 host listener stays with the forwarder.
    let v6 = vec![Publish { host_ip: Ipv6Addr::UNSPECIFIED.into(), ..publish("tcp", 80, [10, 88, 0, 2]) }];
    assert_eq!(published(BindAddr::V4(Ipv4Addr::UNSPECIFIED, 80), &v6), None);
}

#[test]
fn replaceable_sockets_are_ipv4_tcp_or_dual_stack_ipv6_tcp() {
    assert!(replaceable(&tcp4()));
    assert!(replaceable(&SockInfo { domain: libc::AF_INET6, ..tcp4() }));
    assert!(!replaceable(&SockInfo { domain: libc::AF_INET6, v6only: true, ..tcp4() }));
    assert!(!replaceable(&SockInfo { ty: libc::SOCK_DGRAM, ..tcp4() }));
    assert!(!replaceable(&SockInfo { protocol: libc::IPPROTO_SCTP, ..tcp4() }));
}

#[test]
fn a_published_bind_gets_the_host_listener_in_place_and_returns_zero() {
    let reg = Registry::new();
    let mut f = Fake::bind(sockaddr_in([0, 0, 0, 0], 80), SockInfo { nonblock: true, cloexec: true, ..tcp4() });
    let out = handle(&mut f, 9, &socks(), &reg).unwrap();
    assert_eq!(out, Outcome::Bypassed { index: 1, pid: 4242 });
    assert_eq!(f.calls, ["recv", "read 4242 0x1000 16", "valid 7", "info 4242 5", "adopt 31 nonblock=true", "addfd 7 31->5 cloexec=true", "return 7 0"]);
    assert!(reg.has(31) && !reg.has(30));
}

#[test]
fn the_validity_check_comes_after_the_memory_read() {
    let reg = Registry::new();
    let mut f = Fake::bind(sockaddr_in([0, 0, 0, 0], 80), tcp4());
    f.valid = false;
    assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Gone);
    assert_eq!(f.calls, ["recv", "read 4242 0x1000 16", "valid 7"]);
    assert!(!reg.has(31));
}

#[test]
fn other_binds_continue_untouched() {
    let reg = Registry::new();
    for (mem, info) in [
        (sockaddr_in([0, 0, 0, 0], 81), tcp4()),                                    // not published
        (sockaddr_in([127, 0, 0, 1], 80), tcp4()),                                  // loopback only
        (sockaddr_in([0, 0, 0, 0], 53), SockInfo { ty: libc::SOCK_DGRAM, ..tcp4() }), // UDP
        (sockaddr_in([0, 0, 0, 0], 80), SockInfo { ty: libc::SOCK_DGRAM, ..tcp4() }), // UDP on a TCP port
    ] {
        let mut f = Fake::bind(mem, info);
        assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Continued);
        assert_eq!(f.calls.last().unwrap(), "continue 7");
        assert!(!f.calls.iter().any(|c| c.starts_with("addfd")));
    }
    assert!(!reg.has(31));
}

#[test]
fn a_non_bind_call_or_odd_length_continues_without_reading_memory() {
    let reg = Registry::new();
    let mut f = Fake::bind(sockaddr_in([0, 0, 0, 0], 80), tcp4());
    f.notif.data.nr = 42;
    assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Continued);
    assert_eq!(f.calls, ["recv", "continue 7"]);
    let mut f = Fake::bind(sockaddr_in([0, 0, 0, 0], 80), tcp4());
    f.notif.data.args[2] = 4096;
    assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Continued);
    assert_eq!(f.calls, ["recv", "continue 7"]);
}

#[test]
fn a_failed_addfd_gives_the_port_back_to_the_forwarder() {
    let reg = Registry::new();
    let mut f = Fake::bind(sockaddr_in6(Ipv6Addr::UNSPECIFIED, 80), SockInfo { domain: libc::AF_INET6, ..tcp4() });
    f.addfd_errno = Some(libc::EMFILE);
    assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Continued);
    assert_eq!(f.calls.last().unwrap(), "continue 7");
    assert!(f.calls.contains(&"adopt 31 nonblock=true".to_string()));
    assert!(!reg.has(31));
    // The caller died meanwhile: nothing to answer.
    let mut f = Fake::bind(sockaddr_in([0, 0, 0, 0], 80), tcp4());
    f.addfd_errno = Some(libc::ENOENT);
    assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Gone);
    assert!(!f.calls.iter().any(|c| c.starts_with("continue") || c.starts_with("return")));
}

#[test]
fn the_filter_jumps_land_on_its_two_returns() {
    let f = bind_filter();
    assert_eq!(f.len(), 9);
    for (i, op) in f.iter().enumerate() {
        if op.code == (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16 {
            for off in [op.jt, op.jf] {
                let to = i + 1 + off as usize;
                assert!(to < f.len(), "instruction {i} jumps out");
            }
        }
    }
    assert_eq!(f[7].k, SECCOMP_RET_USER_NOTIF);
    assert_eq!(f[8].k, SECCOMP_RET_ALLOW);
    assert_eq!(1 + 1 + f[1].jf as usize, 8);
    assert_eq!(3 + 1 + f[3].jf as usize, 8);
    assert_eq!(5 + 1 + f[5].jt as usize, 7);
    assert_eq!((6 + 1 + f[6].jt as usize, 6 + 1 + f[6].jf as usize), (7, 8));
}

#[test]
fn a_caller_that_dies_after_the_handover_leaves_the_port_with_its_session() {
    let reg = Registry::new();
    let mut f = Fake::bind(sockaddr_in([10, 88, 0, 2], 80), tcp4());
    f.respond_errno = Some(libc::ENOENT);
    assert_eq!(handle(&mut f, 9, &socks(), &reg).unwrap(), Outcome::Bypassed { index: 1, pid: 4242 });
    assert!(reg.has(31));
    reg.remove(31);
    assert!(!reg.has(31));
    assert_eq!(reg.count.load(Ordering::Acquire), 0);
}
