//! Connecting a container's network namespace before its process starts: a veth pair per
//! interface, made in the per-user namespace's bridges with the peer created directly in the
//! container's namespace, then addresses and the default route there (rtnetlink, no `ip`
//! processes); or, `--network slirp4netns`, its own slirp4netns (slirp.rs). Also
//! `net-attach` (`network connect` on a running container) and `--net-join`.

use super::{pipe_cloexec, setns_path, write_fd};
use crate::Args;
use ncx_core::net::{parse_ifaces, veth_name, Attach, Iface};
use ncx_core::rtnl;
use ncx_core::sys::cstr;
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

/// A NETLINK_ROUTE socket of the network namespace the caller is in.
struct Rtnl {
    fd: RawFd,
    seq: u32,
}

impl Rtnl {
    fn open() -> Result<Rtnl, String> {
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
        if fd < 0 {
            return Err(format!("netlink socket: {}", std::io::Error::last_os_error()));
        }
        Ok(Rtnl { fd, seq: 0 })
    }
    fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }
    /// Send one request and wait for the kernel's acknowledgement.
    fn call(&mut self, what: &str, msg: Vec<u8>) -> Result<(), String> {
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let to = &kernel as *const libc::sockaddr_nl as *const libc::sockaddr;
        if unsafe { libc::sendto(self.fd, msg.as_ptr() as *const libc::c_void, msg.len(), 0, to, std::mem::size_of::<libc::sockaddr_nl>() as u32) } < 0 {
            return Err(format!("{what}: {}", std::io::Error::last_os_error()));
        }
        let mut buf = [0u8; 4096];
        let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            return Err(format!("{what}: {}", std::io::Error::last_os_error()));
        }
        rtnl::parse_ack(&buf[..n as usize]).map_err(|e| format!("{what}: {}", std::io::Error::from_raw_os_error(e)))
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        unsafe { libc::close(self.fd) };
    }
}

fn if_index(name: &str) -> Result<u32, String> {
    let c = cstr(name);
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(format!("no interface {name}: {}", std::io::Error::last_os_error())),
        i => Ok(i),
    }
}

/// In a child process (this one stays where it is): join the bridges' namespace, create a
/// veth pair per interface with the peer made directly in the container's namespace, then
/// join that one and give the peers their addresses and the default route. Plain rtnetlink,
/// no `ip` processes. (The container's `lo` is brought up by its own setup: plan::Step::LoopbackUp.)
fn configure_ifaces(netns: &str, ifaces: &[Iface], mtu: u32, pid: i32) -> Result<(), String> {
    let container = format!("/proc/{pid}/ns/net");
    let c = cstr(&container);
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
        let work = || -> Result<(), String> {
            let cfd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if cfd < 0 {
                return Err(format!("open {container}: {}", std::io::Error::last_os_error()));
            }
            if !ifaces.is_empty() {
                setns_path(netns, libc::CLONE_NEWNET)?;
                let mut nl = Rtnl::open()?;
                for i in ifaces {
                    let master = if_index(&i.bridge).map_err(|e| format!("cannot attach the container to bridge {}: {e}", i.bridge))?;
                    let mac = i.mac.as_deref().and_then(rtnl::parse_mac);
                    let seq = nl.next();
                    nl.call(&format!("cannot attach the container to bridge {}: creating its veth", i.bridge), rtnl::new_veth(seq, &veth_name(random_u32()), mtu, master, &i.name, mac, cfd))?;
                }
            }
            if unsafe { libc::setns(cfd, libc::CLONE_NEWNET) } < 0 {
                return Err(format!("setns {container}: {}", std::io::Error::last_os_error()));
            }
            let mut nl = Rtnl::open()?;
            let what = "cannot configure the container's network";
            for i in ifaces {
                let index = if_index(&i.name).map_err(|e| format!("{what}: {e}"))?;
                let (ip, prefix) = i.address.split_once('/').unwrap_or((&i.address, "32"));
                let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| format!("{what}: bad address {}", i.address))?;
                let seq = nl.next();
                nl.call(&format!("{what}: address {} on {}", i.address, i.name), rtnl::new_addr(seq, index, ip, prefix.parse().unwrap_or(32)))?;
                let seq = nl.next();
                nl.call(&format!("{what}: {} up", i.name), rtnl::link_up(seq, index))?;
            }
            if let Some(i) = ifaces.iter().find(|i| i.gateway.is_some()) {
                let gw: std::net::Ipv4Addr = i.gateway.as_deref().unwrap_or_default().parse().map_err(|_| format!("{what}: bad gateway"))?;
                let seq = nl.next();
                nl.call(&format!("{what}: default route via {gw}"), rtnl::default_route(seq, if_index(&i.name)?, gw))?;
            }
            Ok(())
        };
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
