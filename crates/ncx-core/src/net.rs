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

/// What the runtime needs to put a container on a bridge in the per-user network namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Attach {
    /// The network namespace holding the bridge (`/proc/PID/ns/net`).
    pub netns: String,
    pub bridge: String,
    /// `10.88.0.5/16`
    pub address: String,
    pub gateway: String,
    pub mtu: u32,
}

/// `ip -batch` input run in the bridge's namespace: the veth pair, its peer moved into the
/// container's namespace (by its namespace file: a pid would be read in the caller's pid namespace) as eth0.
pub fn host_side_commands(a: &Attach, veth: &str, container_pid: i32) -> String {
    format!(
        "link add {veth} mtu {mtu} type veth peer name eth0 mtu {mtu} netns /proc/{container_pid}/ns/net\nlink set {veth} master {br} up\n",
        mtu = a.mtu,
        br = a.bridge
    )
}

/// `ip -batch` input run in the container's namespace.
pub fn container_side_commands(a: &Attach) -> String {
    format!(
        "link set lo up\naddr add {addr} dev eth0\nlink set eth0 up\nroute add default via {gw} dev eth0\n",
        addr = a.address,
        gw = a.gateway
    )
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
        let a = Attach { netns: "/proc/9/ns/net".into(), bridge: "ncx0".into(), address: "10.88.0.5/16".into(), gateway: "10.88.0.1".into(), mtu: 65520 };
        let host = host_side_commands(&a, &veth_name(0xabc), 42);
        assert!(host.starts_with("link add veth00000abc mtu 65520 type veth peer name eth0 mtu 65520 netns /proc/42/ns/net\n"));
        assert!(host.contains("master ncx0 up"));
        let c = container_side_commands(&a);
        assert!(c.contains("addr add 10.88.0.5/16 dev eth0") && c.contains("default via 10.88.0.1"));
        assert!(veth_name(u32::MAX).len() <= 15);
    }
}
