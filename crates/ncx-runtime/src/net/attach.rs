//! Connecting a container's network namespace before its process starts: a veth pair per
//! interface, made in the per-user namespace's bridges with the peer created directly in the
//! container's namespace, then addresses and the default route there (rtnetlink, no `ip`
//! processes); or, `--network slirp4netns`, its own slirp4netns (slirp.rs). Also
//! `net-attach` (`network connect` on a running container) and `--net-join`.

use super::{pipe_cloexec, setns_path, write_fd};
use crate::Args;
use ncx_core::net::{parse_ifaces, veth_name, Attach, Iface};
use ncx_core::rtnl;
use crate::sys::{Errno, RealSys, Sys};
use ncx_core::userns;
use std::io::Read;
use std::os::fd::RawFd;

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    u32::from_le_bytes(b) ^ std::process::id()
}

/// `--net-join PATH` (`--network container:ID`): join that network namespace instead of
/// creating one. The caller must already be in the namespace's user namespace.
pub fn join_netns(path: &str) -> Result<(), String> {
    setns_path(path, libc::CLONE_NEWNET).map_err(|e| format!("cannot join the network namespace of the other container: {e}"))
}

/// How a container's network namespace is connected.
pub enum NetSetup {
    /// veths on bridges in the per-user network namespace.
    Bridges(Attach),
    /// `--network slirp4netns`: its own slirp4netns on the container's namespace.
    /// (`early`: a keeper forked by `prefork`, waiting for the container's pid.)
    Slirp { host_loopback: bool, early: Option<(RawFd, RawFd)> },
}

/// The attachment asked for on the command line, if any: `--net-netns PATH --net-ifs SPEC
/// [--net-mtu N]`, or `--net-slirp host-loopback=0|1`.
pub fn attach_args(args: &Args) -> Option<NetSetup> {
    if let Some(opts) = args.get("net-slirp") {
        return Some(NetSetup::Slirp { host_loopback: opts.split(',').any(|o| o == "host-loopback=1"), early: None });
    }
    let netns = args.get("net-netns")?;
    let ifaces = match parse_ifaces(args.get("net-ifs").unwrap_or_default()) {
        Ok(i) => i,
        Err(e) => crate::fail(&e, 125),
    };
    Some(NetSetup::Bridges(Attach { netns: netns.to_string(), ifaces, mtu: args.get("net-mtu").and_then(|m| m.parse().ok()).unwrap_or(65520) }))
}

impl NetSetup {
    /// Where the published-port forwarder makes its connections: inside the container's own
    /// network namespace (found through its state file at each connection, so it follows
    /// restarts), to the container's address there — a local address, so relayed traffic
    /// crosses that namespace's loopback, not the veth and the bridge (as rootlessport does).
    pub fn forward_target(&self, args: &Args) -> String {
        format!("state:{}", args.get("state").map(str::to_string).unwrap_or_else(|| format!("{}/state.json", args.get("bundle").unwrap_or("."))))
    }
}

fn os(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e)
}

/// A NETLINK_ROUTE socket of the network namespace the caller is in (closed by `close`).
struct Rtnl {
    fd: RawFd,
    seq: u32,
}

impl Rtnl {
    fn open(sys: &mut dyn Sys) -> Result<Rtnl, String> {
        let fd = sys.nl_open().map_err(|e| format!("netlink socket: {}", os(e)))?;
        Ok(Rtnl { fd, seq: 0 })
    }
    fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }
    /// Send one request and wait for the kernel's acknowledgement.
    fn call(&mut self, sys: &mut dyn Sys, what: &str, msg: Vec<u8>) -> Result<(), String> {
        sys.nl_call(self.fd, what, &msg).map_err(|e| format!("{what}: {}", os(e)))
    }
    fn close(self, sys: &mut dyn Sys) {
        sys.close(self.fd);
    }
}

fn if_index(sys: &mut dyn Sys, name: &str) -> Result<u32, String> {
    sys.if_index(name).map_err(|e| format!("no interface {name}: {}", os(e)))
}

/// The veths, made from the bridges' namespace (`netns`) with their peers created in the
/// container's (`container`, its /proc/PID/ns/net), then, in the container's namespace, each
/// peer's address and link up, and the default route of the first interface with a gateway.
/// Runs in the helper `configure_ifaces` forks: it moves between namespaces.
pub(super) fn configure_in(sys: &mut dyn Sys, container: &str, netns: &str, ifaces: &[Iface], mtu: u32) -> Result<(), String> {
    let cfd = sys.open_ns(container).map_err(|e| format!("open {container}: {}", os(e)))?;
    let r = configure_with(sys, cfd, container, netns, ifaces, mtu);
    sys.close(cfd);
    r
}

fn configure_with(sys: &mut dyn Sys, cfd: RawFd, container: &str, netns: &str, ifaces: &[Iface], mtu: u32) -> Result<(), String> {
    if !ifaces.is_empty() {
        let fd = sys.open_ns(netns).map_err(|e| format!("open {netns}: {}", os(e)))?;
        let joined = sys.setns(fd, libc::CLONE_NEWNET);
        sys.close(fd);
        joined.map_err(|e| format!("setns {netns}: {}", os(e)))?;
        let mut nl = Rtnl::open(sys)?;
        let made = (|| {
            for i in ifaces {
                let master = if_index(sys, &i.bridge).map_err(|e| format!("cannot attach the container to bridge {}: {e}", i.bridge))?;
                let mac = i.mac.as_deref().and_then(rtnl::parse_mac);
                let seq = nl.next();
                nl.call(sys, &format!("cannot attach the container to bridge {}: creating its veth", i.bridge), rtnl::new_veth(seq, &veth_name(random_u32()), mtu, master, &i.name, mac, cfd))?;
            }
            Ok::<(), String>(())
        })();
        nl.close(sys);
        made?;
    }
    sys.setns(cfd, libc::CLONE_NEWNET).map_err(|e| format!("setns {container}: {}", os(e)))?;
    let mut nl = Rtnl::open(sys)?;
    let r = address_ifaces(sys, &mut nl, ifaces);
    nl.close(sys);
    r
}

fn address_ifaces(sys: &mut dyn Sys, nl: &mut Rtnl, ifaces: &[Iface]) -> Result<(), String> {
    let what = "cannot configure the container's network";
    for i in ifaces {
        let index = if_index(sys, &i.name).map_err(|e| format!("{what}: {e}"))?;
        let (ip, prefix) = i.address.split_once('/').unwrap_or((&i.address, "32"));
        let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| format!("{what}: bad address {}", i.address))?;
        let seq = nl.next();
        nl.call(sys, &format!("{what}: address {} on {}", i.address, i.name), rtnl::new_addr(seq, index, ip, prefix.parse().unwrap_or(32)))?;
        let seq = nl.next();
        nl.call(sys, &format!("{what}: {} up", i.name), rtnl::link_up(seq, index))?;
    }
    if let Some(i) = ifaces.iter().find(|i| i.gateway.is_some()) {
        let gw: std::net::Ipv4Addr = i.gateway.as_deref().unwrap_or_default().parse().map_err(|_| format!("{what}: bad gateway"))?;
        let seq = nl.next();
        let index = if_index(sys, &i.name)?;
        nl.call(sys, &format!("{what}: default route via {gw}"), rtnl::default_route(seq, index, gw))?;
    }
    Ok(())
}

/// In a child process (this one stays where it is): join the bridges' namespace, create a
/// veth pair per interface with the peer made directly in the container's namespace, then
/// join that one and give the peers their addresses and the default route. Plain rtnetlink,
/// no `ip` processes. (The container's `lo` is brought up by its own setup: plan::Step::LoopbackUp.)
fn configure_ifaces(netns: &str, ifaces: &[Iface], mtu: u32, pid: i32) -> Result<(), String> {
    let container = format!("/proc/{pid}/ns/net");
    let (rep_r, rep_w) = pipe_cloexec();
    let child = unsafe { libc::fork() };
    if child < 0 {
        unsafe {
            libc::close(rep_r);
            libc::close(rep_w);
        }
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        unsafe { libc::close(rep_r) };
        let work = || configure_in(&mut RealSys, &container, netns, ifaces, mtu);
        let code = match work() {
            Ok(()) => 0,
            Err(e) => {
                write_fd(rep_w, &e);
                1
            }
        };
        unsafe { libc::_exit(code) };
    }
    unsafe { libc::close(rep_w) };
    let mut msg = String::new();
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(rep_r) };
    let _ = f.read_to_string(&mut msg);
    let mut st = 0;
    unsafe { libc::waitpid(child, &mut st, 0) };
    if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
        Ok(())
    } else if msg.is_empty() {
        Err("cannot attach the container's network: the helper failed".into())
    } else {
        Err(msg)
    }
}

/// Connect the (not yet started) container `pid`: its interfaces on the bridges (a veth pair
/// each, created in the bridges' namespace with the peer moved into the container's; when
/// the container's namespace goes away, the kernel deletes the pairs, so nothing is left on
/// the bridges), or its own slirp4netns.
pub fn attach(n: &NetSetup, pid: i32) -> Result<(), String> {
    match n {
        NetSetup::Bridges(a) => configure_ifaces(&a.netns, &a.ifaces, a.mtu, pid),
        NetSetup::Slirp { host_loopback, early } => super::slirp::container_slirp(pid, *host_loopback, *early),
    }
}

/// `net-attach --net-netns PATH --pid PID --net-ifs SPEC [--net-mtu N]` (`network connect`
/// on a running container): more interfaces for a running container.
pub fn net_attach(args: &Args) -> i32 {
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            crate::fail(&e.to_string(), 125);
        }
    }
    let pid: i32 = args.require("pid").parse().unwrap_or_else(|_| crate::fail("invalid --pid", 125));
    let ifaces = parse_ifaces(args.require("net-ifs")).unwrap_or_else(|e| crate::fail(&e, 125));
    let mtu = args.get("net-mtu").and_then(|m| m.parse().ok()).unwrap_or(65520);
    match configure_ifaces(args.require("net-netns"), &ifaces, mtu, pid) {
        Ok(()) => 0,
        Err(e) => crate::fail(&e, 125),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{args, RecordingSys};

    fn ifaces(spec: &str) -> Vec<Iface> {
        parse_ifaces(spec).unwrap()
    }

    #[test]
    fn veths_are_made_from_the_bridges_namespace_then_addressed_inside_the_container() {
        let mut sys = RecordingSys { links: vec!["ncx0".into(), "br1".into(), "eth0".into(), "eth1".into()], ..RecordingSys::new() };
        let two = ifaces("eth0,ncx0,10.88.0.2/16,10.88.0.1,;eth1,br1,10.89.0.2/24,,02:42:0a:59:00:02");
        configure_in(&mut sys, "/proc/42/ns/net", "/run/ncx/netns", &two, 1500).unwrap();
        let expected = [
            "open_ns /proc/42/ns/net",
            "open_ns /run/ncx/netns",
            "setns 101 0x40000000",
            "close 101",
            "nl_open",
            "if_index ncx0",
            "nl cannot attach the container to bridge ncx0: creating its veth",
            "if_index br1",
            "nl cannot attach the container to bridge br1: creating its veth",
            "close 102",
            "setns 100 0x40000000",
            "nl_open",
            "if_index eth0",
            "nl cannot configure the container's network: address 10.88.0.2/16 on eth0",
            "nl cannot configure the container's network: eth0 up",
            "if_index eth1",
            "nl cannot configure the container's network: address 10.89.0.2/24 on eth1",
            "nl cannot configure the container's network: eth1 up",
            "if_index eth0",
            "nl cannot configure the container's network: default route via 10.88.0.1",
            "close 103",
            "close 100",
        ];
        assert_eq!(sys.calls, expected);
        assert!(sys.open.is_empty());
    }

    #[test]
    fn a_missing_bridge_is_named_and_nothing_is_left_open() {
        let mut sys = RecordingSys { links: vec!["eth0".into()], ..RecordingSys::new() };
        let e = configure_in(&mut sys, "/proc/42/ns/net", "/run/ncx/netns", &ifaces("eth0,ncx9,10.88.0.2/16,10.88.0.1,"), 1500).unwrap_err();
        assert!(e.starts_with("cannot attach the container to bridge ncx9: no interface ncx9: No such device"), "{e}");
        assert!(!sys.called("setns 100"), "the container's namespace is never entered");
        assert!(sys.open.is_empty(), "{:?}", sys.open);
    }

    #[test]
    fn a_refused_request_stops_the_configuration_with_the_kernels_reason() {
        let mut sys = RecordingSys { links: vec!["ncx0".into(), "eth0".into()], fail: vec![("nl cannot configure the container's network: address".into(), libc::EEXIST)], ..RecordingSys::new() };
        let e = configure_in(&mut sys, "/proc/42/ns/net", "/n", &ifaces("eth0,ncx0,10.88.0.2/16,10.88.0.1,"), 1500).unwrap_err();
        assert_eq!(e, "cannot configure the container's network: address 10.88.0.2/16 on eth0: File exists (os error 17)");
        assert!(!sys.called("nl cannot configure the container's network: eth0 up"));
        assert!(sys.open.is_empty(), "{:?}", sys.open);
        // A container that is gone: its namespace cannot be opened, nothing else is tried.
        let mut sys = RecordingSys { fail: vec![("open_ns /proc/42".into(), libc::ENOENT)], ..RecordingSys::new() };
        let e = configure_in(&mut sys, "/proc/42/ns/net", "/n", &[], 1500).unwrap_err();
        assert!(e.starts_with("open /proc/42/ns/net: No such file"), "{e}");
        assert_eq!(sys.calls.len(), 1);
    }

    #[test]
    fn without_interfaces_the_bridges_namespace_is_not_entered() {
        let mut sys = RecordingSys::new();
        configure_in(&mut sys, "/proc/42/ns/net", "/n", &[], 1500).unwrap();
        assert_eq!(sys.calls, ["open_ns /proc/42/ns/net", "setns 100 0x40000000", "nl_open", "close 101", "close 100"]);
    }

    #[test]
    fn the_command_line_chooses_bridges_or_slirp4netns() {
        assert!(attach_args(&args(&[], &[])).is_none());
        match attach_args(&args(&[("net-slirp", "host-loopback=1")], &[])) {
            Some(NetSetup::Slirp { host_loopback: true, early: None }) => {}
            _ => panic!("--net-slirp host-loopback=1"),
        }
        match attach_args(&args(&[("net-netns", "/n"), ("net-ifs", "eth0,ncx0,10.88.0.2/16,,")], &[])) {
            Some(NetSetup::Bridges(a)) => {
                assert_eq!((a.netns.as_str(), a.mtu, a.ifaces.len()), ("/n", 65520, 1));
            }
            _ => panic!("--net-netns"),
        }
        let n = attach_args(&args(&[("net-netns", "/n"), ("net-ifs", ""), ("net-mtu", "1400")], &[])).unwrap();
        assert!(matches!(&n, NetSetup::Bridges(a) if a.mtu == 1400));
        // The forwarder finds the container through its state file (it follows restarts).
        assert_eq!(n.forward_target(&args(&[("state", "/s/state.json")], &[])), "state:/s/state.json");
        assert_eq!(n.forward_target(&args(&[("bundle", "/b")], &[])), "state:/b/state.json");
    }
}
