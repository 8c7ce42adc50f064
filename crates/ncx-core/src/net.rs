//! Networking pieces that need no privileges: published-port specs as the runtime receives
//! them, the interfaces that attach a container to bridges, and veth names.

use std::net::{IpAddr, Ipv4Addr};

/// One published port, as the engine passes it: `PROTO:HOSTIP:HOSTPORT:CONTAINERIP:CONTAINERPORT`
/// (HOSTIP empty = every IPv4 address, an IPv6 address in brackets: `[::]`; HOSTPORT 0 = a
/// random free port).
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub proto: String,
    pub host_ip: IpAddr,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// Parse a comma-separated list of publish specs.
pub fn parse_publish(text: &str) -> Result<Vec<Publish>, String> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let bad = || format!("invalid publish spec {part:?}");
        // An IPv6 host address comes in brackets (its colons are not field separators).
        let (ip_text, f) = match part.split_once(":[") {
            Some((proto, rest)) => {
                let (ip, tail) = rest.split_once(']').ok_or_else(bad)?;
                let tail = tail.strip_prefix(':').ok_or_else(bad)?;
                let mut f: Vec<&str> = vec![proto, ""];
                f.extend(tail.split(':'));
                (ip, f)
            }
            None => {
                let f: Vec<&str> = part.split(':').collect();
                (f.get(1).copied().unwrap_or(""), f)
            }
        };
        if f.len() != 5 {
            return Err(format!("invalid publish spec {part:?}: expected PROTO:HOSTIP:HOSTPORT:CONTAINERIP:CONTAINERPORT"));
        }
        if f[0] != "tcp" && f[0] != "udp" {
            return Err(bad());
        }
        let host_ip = if ip_text.is_empty() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { ip_text.parse().map_err(|_| bad())? };
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
        assert_eq!(p[0].host_ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(p[0].host_port, 8080);
        assert_eq!(p[1].proto, "udp");
        assert_eq!(p[1].host_ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(p[1].container_port, 53);
    }

    #[test]
    fn parses_ipv6_host_addresses_in_brackets() {
        let p = parse_publish("tcp:[::]:18931:10.88.0.5:80,udp:[::1]:0:10.88.0.5:53,tcp:[fe80::1:2]:1:10.0.0.1:2").unwrap();
        assert_eq!(p[0].host_ip, "::".parse::<IpAddr>().unwrap());
        assert_eq!((p[0].host_port, p[0].container_ip, p[0].container_port), (18931, Ipv4Addr::new(10, 88, 0, 5), 80));
        assert_eq!(p[1].host_ip, IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
        assert_eq!(p[1].proto, "udp");
        assert_eq!(p[2].host_ip, "fe80::1:2".parse::<IpAddr>().unwrap());
        for bad in ["tcp:[::1:80:10.0.0.1:1", "tcp:[::1]80:10.0.0.1:1", "tcp:[zz]:80:10.0.0.1:1", "tcp:::1:80:10.0.0.1:1", "tcp:[::]:80:10.0.0.1"] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_publish_specs() {
        assert!(parse_publish("tcp:8080:80").is_err());
        assert!(parse_publish("sctp::1:10.0.0.1:1").is_err());
        assert!(parse_publish("tcp::70000:10.0.0.1:1").is_err());
        assert!(parse_publish("tcp:x::10.0.0.1:1").is_err());
    }

    #[test]
    fn parses_iface_specs() {
        let ifs = parse_ifaces("eth0,ncx0,10.88.0.5/16,10.88.0.1,02:42:0a:58:00:05;eth1,br-abc,10.89.0.2/24,,").unwrap();
        assert_eq!(ifs.len(), 2);
        assert_eq!(ifs[0].gateway.as_deref(), Some("10.88.0.1"));
        assert_eq!(ifs[0].mac.as_deref(), Some("02:42:0a:58:00:05"));
        assert_eq!((ifs[1].name.as_str(), ifs[1].bridge.as_str(), ifs[1].gateway.as_ref(), ifs[1].mac.as_ref()), ("eth1", "br-abc", None, None));
        assert!(veth_name(u32::MAX).len() <= 15);
    }

    #[test]
    fn rejects_bad_iface_specs() {
        for bad in ["eth0,ncx0,10.88.0.5,10.88.0.1,", "eth0,ncx0,10.88.0.5/16,x,", "eth0;ncx0", "eth0,ncx0,10.88.0.5/16,,zz:zz", "eth0 x,ncx0,10.0.0.1/8,,"] {
            assert!(parse_ifaces(bad).is_err(), "{bad}");
        }
    }
}
