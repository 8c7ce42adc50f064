//! rtnetlink requests, as bytes: what `ip link add … type veth peer …`, `ip addr add`,
//! `ip link set … up` and `ip route replace default …` send to the kernel. Building them needs
//! no privileges (unit-tested here); the runtime sends them on a NETLINK_ROUTE socket
//! (`request` sends one and waits for its acknowledgement).

use std::net::Ipv4Addr;

const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const NLA_F_NESTED: u16 = 0x8000;
const IFF_UP: u32 = 0x1;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// A message under construction: header, fixed part, attributes.
struct Msg {
    buf: Vec<u8>,
    /// Offsets of nested attributes still open.
    open: Vec<usize>,
}

impl Msg {
    fn new(kind: u16, flags: u16, seq: u32) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        Msg { buf, open: Vec::new() }
    }
    fn pad(&mut self) {
        self.buf.resize(align(self.buf.len()), 0);
    }
    /// struct ifinfomsg
    fn ifinfo(&mut self, index: i32, up: bool) {
        self.buf.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        let f: u32 = if up { IFF_UP } else { 0 };
        self.buf.extend_from_slice(&f.to_ne_bytes());
        self.buf.extend_from_slice(&f.to_ne_bytes());
    }
    fn attr(&mut self, kind: u16, data: &[u8]) {
        self.buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }
    fn attr_str(&mut self, kind: u16, s: &str) {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(kind, &d);
    }
    fn begin(&mut self, kind: u16) {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    }
    fn end(&mut self) {
        let start = self.open.pop().expect("nested attribute");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        out[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

/// A veth pair: `name` here (up, on bridge `master`), `peer` (down, optional MAC) created
/// directly in the network namespace open at `peer_netns_fd`.
pub fn new_veth(seq: u32, name: &str, mtu: u32, master: u32, peer: &str, peer_mac: Option<[u8; 6]>, peer_netns_fd: i32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq);
    m.ifinfo(0, true);
    m.attr_str(IFLA_IFNAME, name);
    m.attr(IFLA_MTU, &mtu.to_ne_bytes());
    m.attr(IFLA_MASTER, &master.to_ne_bytes());
    m.begin(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "veth");
    m.begin(IFLA_INFO_DATA);
    m.begin(VETH_INFO_PEER);
    // (down: the kernel brings a peer up before it knows its other end, and fails ENOTCONN)
    m.ifinfo(0, false);
    m.attr_str(IFLA_IFNAME, peer);
    m.attr(IFLA_MTU, &mtu.to_ne_bytes());
    if let Some(mac) = peer_mac {
        m.attr(IFLA_ADDRESS, &mac);
    }
    m.attr(IFLA_NET_NS_FD, &(peer_netns_fd as u32).to_ne_bytes());
    m.end();
    m.end();
    m.end();
    m.finish()
}

/// `ip link set INDEX up`
pub fn link_up(seq: u32, index: u32) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWLINK, 0, seq);
    m.ifinfo(index as i32, true);
    m.finish()
}

/// `ip addr add ADDR/PREFIX dev INDEX`
pub fn new_addr(seq: u32, index: u32, addr: Ipv4Addr, prefix: u8) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq);
    m.buf.extend_from_slice(&[AF_INET, prefix, 0, 0]);
    m.buf.extend_from_slice(&index.to_ne_bytes());
    m.attr(IFA_LOCAL, &addr.octets());
    m.attr(IFA_ADDRESS, &addr.octets());
    m.finish()
}

/// `ip route replace default via GATEWAY dev INDEX`
pub fn default_route(seq: u32, index: u32, gateway: Ipv4Addr) -> Vec<u8> {
    let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq);
    // struct rtmsg: family, dst_len, src_len, tos, table (main), protocol (boot), scope (universe), type (unicast), flags
    m.buf.extend_from_slice(&[AF_INET, 0, 0, 0, 254, 3, 0, 1]);
    m.buf.extend_from_slice(&0u32.to_ne_bytes());
    m.attr(RTA_GATEWAY, &gateway.octets());
    m.attr(RTA_OIF, &index.to_ne_bytes());
    m.finish()
}

/// The kernel's answer to a request with NLM_F_ACK: Ok, or the errno it carries.
pub fn parse_ack(buf: &[u8]) -> Result<(), i32> {
    if buf.len() < 20 {
        return Err(libc_eproto());
    }
    let kind = u16::from_ne_bytes([buf[4], buf[5]]);
    if kind != NLMSG_ERROR {
        return Err(libc_eproto());
    }
    let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    if err == 0 {
        Ok(())
    } else {
        Err(-err)
    }
}

fn libc_eproto() -> i32 {
    71
}

/// Send one request on a fresh NETLINK_ROUTE socket of the caller's network namespace and
/// wait for the kernel's acknowledgement (Err: the errno).
pub fn request(msg: &[u8]) -> Result<(), i32> {
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(crate::sys::errno());
    }
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let to = &kernel as *const libc::sockaddr_nl as *const libc::sockaddr;
    let sent = unsafe { libc::sendto(fd, msg.as_ptr() as *const libc::c_void, msg.len(), 0, to, std::mem::size_of::<libc::sockaddr_nl>() as u32) };
    let out = if sent < 0 {
        Err(crate::sys::errno())
    } else {
        let mut buf = [0u8; 1024];
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            Err(crate::sys::errno())
        } else {
            parse_ack(&buf[..n as usize])
        }
    };
    unsafe { libc::close(fd) };
    out
}

/// `ip link set NAME up` in the caller's network namespace.
pub fn set_up(name: &str) -> Result<(), i32> {
    let c = crate::sys::cstr(name);
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(crate::sys::errno()),
        index => request(&link_up(1, index)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes([b[at], b[at + 1]])
    }

    #[test]
    fn veth_request_layout() {
        let m = new_veth(7, "veth0001", 65520, 3, "eth0", parse_mac("02:42:0a:58:00:05"), 9);
        assert_eq!(u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize, m.len());
        assert_eq!(u16_at(&m, 4), RTM_NEWLINK);
        assert_eq!(u16_at(&m, 6), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        // ifinfomsg: up
        assert_eq!(u32::from_ne_bytes([m[24], m[25], m[26], m[27]]), IFF_UP);
        // first attribute: IFLA_IFNAME "veth0001\0" (4 + 9 bytes, padded to 16)
        assert_eq!(u16_at(&m, 32), 13);
        assert_eq!(u16_at(&m, 34), IFLA_IFNAME);
        assert_eq!(&m[36..45], b"veth0001\0");
        assert!(m.windows(5).any(|w| w == b"veth\0"));
        assert!(m.windows(6).any(|w| w == [0x02, 0x42, 0x0a, 0x58, 0x00, 0x05]));
        assert_eq!(m.len() % 4, 0);
    }

    #[test]
    fn nested_lengths_cover_their_contents() {
        let m = new_veth(1, "v", 1500, 2, "eth1", None, 4);
        // Walk the top-level attributes after nlmsghdr + ifinfomsg: their lengths tile the message.
        let mut at = 32;
        let mut kinds = vec![];
        while at < m.len() {
            let len = u16_at(&m, at) as usize;
            kinds.push(u16_at(&m, at + 2) & !NLA_F_NESTED);
            at += align(len);
        }
        assert_eq!(at, m.len());
        assert_eq!(kinds, vec![IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO]);
    }

    #[test]
    fn addr_route_and_acks() {
        let a = new_addr(2, 5, "10.88.0.5".parse().unwrap(), 16);
        assert_eq!(&a[16..20], &[AF_INET, 16, 0, 0]);
        assert!(a.windows(4).any(|w| w == [10, 88, 0, 5]));
        let r = default_route(3, 5, "10.88.0.1".parse().unwrap());
        assert_eq!(u16_at(&r, 6), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
        assert!(r.windows(4).any(|w| w == [10, 88, 0, 1]));
        let mut ack = vec![0u8; 36];
        ack[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert_eq!(parse_ack(&ack), Ok(()));
        ack[16..20].copy_from_slice(&(-17i32).to_ne_bytes());
        assert_eq!(parse_ack(&ack), Err(17));
        assert_eq!(parse_mac("02:42:zz:00:00:01"), None);
    }
}
