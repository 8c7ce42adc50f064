//! Networking pieces that need no privileges: published-port specs as the runtime receives
//! them, the commands that attach a container to a bridge, and veth names.

use std::net::Ipv4Addr;

/// One published port, as the engine passes it: `PROTO:HOSTIP:HOSTPORT:CONTAINERIP:CONTAINERPORT`
/// (HOSTIP empty = every address; HOSTPORT 0 = a random free port).
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub proto: String,
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// Parse a comma-separated list of publish specs.
pub fn parse_publish(text: &str) -> Result<Vec<Publish>, String> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let f: Vec<&str> = part.split(':').collect();
        if f.len() != 5 {
            return Err(format!("invalid publish spec {part:?}: expected PROTO:HOSTIP:HOSTPORT:CONTAINERIP:CONTAINERPORT"));
        }
        let bad = || format!("invalid publish spec {part:?}");
        if f[0] != "tcp" && f[0] != "udp" {
            return Err(bad());
        }
        let host_ip = if f[1].is_empty() { Ipv4Addr::UNSPECIFIED } else { f[1].parse().map_err(|_| bad())? };
        out.push(Publish {
            proto: f[0].to_string(),
            host_ip,
            host_port: f[2].parse().map_err(|_| bad())?,
            container_ip: f[3].parse().map_err(|_| bad())?,
            container_port: f[4].parse().map_err(|_| bad())?,
        });
    }
    Ok(out)
}

/// One interface of a container on a bridge: `IFNAME,BRIDGE,ADDRESS/N,GATEWAY,MAC` (GATEWAY
/// empty: no default route through it; MAC empty: the kernel picks one).
#[derive(Debug, Clone, PartialEq)]
pub struct Iface {
    pub name: String,
    pub bridge: String,
    /// `10.88.0.5/16`
    pub address: String,
    pub gateway: Option<String>,
    pub mac: Option<String>,
}

/// What the runtime needs to put a container on bridges in the per-user network namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Attach {
    /// The network namespace holding the bridges (`/proc/PID/ns/net`).
    pub netns: String,
    pub ifaces: Vec<Iface>,
    pub mtu: u32,
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn valid_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parse `--net-ifs`: interfaces separated by `;`.
pub fn parse_ifaces(text: &str) -> Result<Vec<Iface>, String> {
    let mut out = Vec::new();
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let f: Vec<&str> = part.split(',').collect();
        let bad = |why: &str| format!("invalid interface spec {part:?}: {why} (expected IFNAME,BRIDGE,ADDRESS/N,GATEWAY,MAC)");
        if f.len() != 5 {
            return Err(bad("5 fields"));
        }
        if !valid_ifname(f[0]) || !valid_ifname(f[1]) {
            return Err(bad("bad interface or bridge name"));
        }
        let (ip, prefix) = f[2].split_once('/').ok_or_else(|| bad("address without /N"))?;
        if ip.parse::<Ipv4Addr>().is_err() || !matches!(prefix.parse::<u8>(), Ok(0..=32)) {
            return Err(bad("bad address"));
        }
        if !f[3].is_empty() && f[3].parse::<Ipv4Addr>().is_err() {
            return Err(bad("bad gateway"));
        }
        if !f[4].is_empty() && !valid_mac(f[4]) {
            return Err(bad("bad MAC address"));
        }
        let opt = |s: &str| if s.is_empty() { None } else { Some(s.to_string()) };
        out.push(Iface { name: f[0].into(), bridge: f[1].into(), address: f[2].into(), gateway: opt(f[3]), mac: opt(f[4]) });
    }
    Ok(out)
}

/// `ip -batch` input run in the bridge's namespace: the veth pair, its peer moved into the
/// container's namespace (by its namespace file: a pid would be read in the caller's pid namespace).
pub fn host_side_commands(i: &Iface, mtu: u32, veth: &str, container_pid: i32) -> String {
    let mac = i.mac.as_ref().map(|m| format!(" address {m}")).unwrap_or_default();
    format!(
        "link add {veth} mtu {mtu} type veth peer name {name} mtu {mtu}{mac} netns /proc/{container_pid}/ns/net\nlink set {veth} master {br} up\n",
        name = i.name,
        br = i.bridge
    )
}

/// `ip -batch` input run in the container's namespace for these interfaces (`with_lo`: a
/// fresh namespace, whose loopback comes up too). The first interface with a gateway
/// carries the default route.
pub fn container_side_commands(ifaces: &[Iface], with_lo: bool) -> String {
    let mut s = String::new();
    if with_lo {
        s.push_str("link set lo up\n");
    }
    for i in ifaces {
        s.push_str(&format!("addr add {addr} dev {name}\nlink set {name} up\n", addr = i.address, name = i.name));
    }
    if let Some(i) = ifaces.iter().find(|i| i.gateway.is_some()) {
        s.push_str(&format!("route replace default via {gw} dev {name}\n", gw = i.gateway.as_deref().unwrap_or_default(), name = i.name));
    }
    s
}

/// A host-side veth name (at most 15 bytes) from some random bits.
pub fn veth_name(bits: u32) -> String {
    format!("veth{bits:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_publish_specs() {
        let p = parse_publish("tcp::8080:10.88.0.5:80,udp:127.0.0.1:0:10.88.0.5:53").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].host_ip, Ipv4Addr::UNSPECIFIED);
        assert_eq!(p[0].host_port, 8080);
        assert_eq!(p[1].proto, "udp");
        assert_eq!(p[1].host_ip, Ipv4Addr::LOCALHOST);
        assert_eq!(p[1].container_port, 53);
    }

    #[test]
    fn rejects_bad_publish_specs() {
        assert!(parse_publish("tcp:8080:80").is_err());
        assert!(parse_publish("sctp::1:10.0.0.1:1").is_err());
        assert!(parse_publish("tcp::70000:10.0.0.1:1").is_err());
        assert!(parse_publish("tcp:x::10.0.0.1:1").is_err());
    }

    #[test]
    fn attach_commands() {
        let ifs = parse_ifaces("eth0,ncx0,10.88.0.5/16,10.88.0.1,02:42:0a:58:00:05;eth1,br-abc,10.89.0.2/24,,").unwrap();
        assert_eq!(ifs.len(), 2);
        assert_eq!(ifs[1].gateway, None);
        let host = host_side_commands(&ifs[0], 65520, &veth_name(0xabc), 42);
        assert!(host.starts_with("link add veth00000abc mtu 65520 type veth peer name eth0 mtu 65520 address 02:42:0a:58:00:05 netns /proc/42/ns/net\n"));
        assert!(host.contains("master ncx0 up"));
        assert!(!host_side_commands(&ifs[1], 1500, "v", 1).contains("address"));
        let c = container_side_commands(&ifs, true);
        assert!(c.starts_with("link set lo up\n"));
        assert!(c.contains("addr add 10.88.0.5/16 dev eth0") && c.contains("addr add 10.89.0.2/24 dev eth1"));
        assert!(c.ends_with("route replace default via 10.88.0.1 dev eth0\n"));
        assert!(!container_side_commands(&ifs[1..], false).contains("route"));
        assert!(veth_name(u32::MAX).len() <= 15);
    }

    #[test]
    fn rejects_bad_iface_specs() {
        for bad in ["eth0,ncx0,10.88.0.5,10.88.0.1,", "eth0,ncx0,10.88.0.5/16,x,", "eth0;ncx0", "eth0,ncx0,10.88.0.5/16,,zz:zz", "eth0 x,ncx0,10.0.0.1/8,,"] {
            assert!(parse_ifaces(bad).is_err(), "{bad}");
        }
    }
}
