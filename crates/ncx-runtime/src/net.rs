//! Networking: the per-user network namespace and its slirp4netns, attaching a container to
//! a bridge there, and the published-port forwarder.
//!
//!   ncx-runtime netns-init [--userns-pid PID] --state FILE [--slirp PATH] [--host-loopback]
//!       Starts `ncx-netns`, a small supervisor (host namespaces) with two children: the holder
//!       `ncx-netns-hold` (joins the user namespace, unshares a network namespace, sleeps) and
//!       slirp4netns attached to it (restarted when it dies). Prints
//!       `{"pid":…,"holderPid":…,"slirpPid":…,"hostLoopback":…}` once slirp4netns has configured tap0. It
//!       outlives the user-namespace holder: the running containers' network lives there, and
//!       the holder's restart takes over the same user namespace (ncx_core::userns::adopt).
//!       It ends on SIGTERM (taking its children along), when its holder dies, or when the
//!       directory of FILE is removed (a reboot's fresh /run, a removed run root).
//!   ncx-runtime nsexec [--userns-pid PID] --netns PATH CMD [ARG…]
//!       Run a command (ip, nft) inside a network namespace; stdin/stdout pass through.
//!   ncx-runtime net-attach [--userns-pid PID] --net-netns PATH --pid PID --net-ifs SPEC [--net-mtu N]
//!       `network connect` on a running container: more interfaces in its namespace.
//!
//! `run` and `monitor` take `--net-netns PATH --net-ifs IFNAME,BRIDGE,A/N,GATEWAY,MAC;… [--net-mtu N]`
//! (a veth per interface on its bridge, before the container's process starts), or
//! `--net-slirp host-loopback=0|1` (`--network slirp4netns`: its own slirp4netns, kept by an
//! `ncx-slirp` process that stops it when the container exits), and
//! `--publish PROTO:HOSTIP:HOSTPORT:CIP:CPORT,…` (listening sockets opened in the host's
//! network namespace before anything is joined; a forwarder child relays connections from
//! inside the container's own namespace, to its address there). The monitor also takes
//! `--exit-command JSON-ARGV`, run once a container is gone. `--port-bypass 1` (both):
//! the container's own bind of a published TCP port gets the host's listening socket
//! (bypass.rs).

use crate::Args;
use ncx_core::net::{parse_ifaces, parse_publish, veth_name, Attach, Iface, Publish};
use ncx_core::rtnl;
use ncx_core::sys::{cstr, errno};
use ncx_core::userns;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn setns_path(path: &str, kind: libc::c_int) -> Result<(), String> {
    let c = cstr(path);
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("open {path}: {}", std::io::Error::last_os_error()));
    }
    let rc = unsafe { libc::setns(fd, kind) };
    let e = std::io::Error::last_os_error();
    unsafe { libc::close(fd) };
    if rc < 0 {
        return Err(format!("setns {path}: {e}"));
    }
    Ok(())
}

/// The path of a system tool: PATH first, then the sbin directories an ordinary user's PATH
/// lacks on Debian (`nft` lives in /usr/sbin).
fn find_tool(name: &str) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).is_file());
    found.unwrap_or_else(|| name.to_string())
}

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
        NetSetup::Slirp { host_loopback, early } => container_slirp(pid, *host_loopback, *early),
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

/// The keeper of a container's slirp4netns (`ncx-slirp`): starts slirp4netns on the
/// container's namespace, reports on `rep_w` once tap0 is configured, and stops slirp4netns
/// when the container's process exits (slirp4netns would otherwise keep the namespace
/// alive). `in_userns`: the keeper is already in the user namespace (the monitor's child), so
/// slirp4netns joins only the network namespace; else it joins both through the pid.
fn slirp_keeper(pid: i32, host_loopback: bool, in_userns: bool, rep_w: RawFd) -> ! {
    unsafe { libc::prctl(libc::PR_SET_NAME, c"ncx-slirp".as_ptr() as libc::c_ulong, 0, 0, 0) };
    let watch = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
    let (exit_r, exit_w) = pipe_cloexec();
    let target = if in_userns { vec!["--netns-type=path".to_string(), format!("/proc/{pid}/ns/net"), "tap0".to_string()] } else { vec![pid.to_string(), "tap0".to_string()] };
    match start_slirp(&find_tool("slirp4netns"), &target, host_loopback, exit_r) {
        Ok(s) => unsafe {
            write_fd(rep_w, "R");
            libc::close(rep_w);
            libc::close(exit_r);
            to_null();
            let mut pfd = libc::pollfd { fd: watch, events: libc::POLLIN, revents: 0 };
            while watch >= 0 && libc::poll(&mut pfd, 1, -1) < 0 {}
            libc::close(exit_w);
            libc::waitpid(s.pid, std::ptr::null_mut(), 0);
            libc::_exit(0)
        },
        Err(e) => {
            write_fd(rep_w, &format!("E{e}"));
            unsafe { libc::_exit(1) }
        }
    }
}

/// Unblock every signal (a forked helper of a supervisor that blocked them).
fn unblock_all() {
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

/// Wait for a keeper's report.
fn keeper_report(rep_r: RawFd) -> Result<(), String> {
    let mut b = [0u8; 512];
    let n = unsafe { libc::read(rep_r, b.as_mut_ptr() as *mut libc::c_void, b.len()) };
    unsafe { libc::close(rep_r) };
    if n >= 1 && b[0] == b'R' {
        return Ok(());
    }
    Err(if n > 1 { String::from_utf8_lossy(&b[1..n as usize]).to_string() } else { "slirp4netns did not start".into() })
}

impl NetSetup {
    /// For `run` (which forks the container into a new pid namespace from itself, so any
    /// later child would land in it): fork the slirp4netns keeper now, in the host's
    /// namespaces; it waits for the container's pid.
    pub fn prefork(self) -> NetSetup {
        let NetSetup::Slirp { host_loopback, early: None } = self else { return self };
        let (pid_r, pid_w) = pipe_cloexec();
        let (rep_r, rep_w) = pipe_cloexec();
        let keeper = unsafe { libc::fork() };
        if keeper < 0 {
            return NetSetup::Slirp { host_loopback, early: None };
        }
        if keeper == 0 {
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                libc::close(pid_w);
                libc::close(rep_r);
                // (nothing else: not the published ports' listeners, not the CLI's pipes)
                for fd in 3..1024 {
                    if fd != pid_r && fd != rep_w {
                        libc::close(fd);
                    }
                }
            }
            let mut b = [0u8; 4];
            let n = unsafe { libc::read(pid_r, b.as_mut_ptr() as *mut libc::c_void, 4) };
            if n != 4 {
                unsafe { libc::_exit(0) };
            }
            unsafe { libc::close(pid_r) };
            slirp_keeper(i32::from_le_bytes(b), host_loopback, false, rep_w);
        }
        unsafe {
            libc::close(pid_r);
            libc::close(rep_w);
        }
        NetSetup::Slirp { host_loopback, early: Some((pid_w, rep_r)) }
    }
}

/// `--network slirp4netns`: the container's own slirp4netns, through a keeper process
/// (forked now, or earlier by `prefork`).
fn container_slirp(pid: i32, host_loopback: bool, early: Option<(RawFd, RawFd)>) -> Result<(), String> {
    if let Some((pid_w, rep_r)) = early {
        let b = pid.to_le_bytes();
        unsafe {
            libc::write(pid_w, b.as_ptr() as *const libc::c_void, 4);
            libc::close(pid_w);
        }
        return keeper_report(rep_r);
    }
    let (rep_r, rep_w) = pipe_cloexec();
    let keeper = unsafe { libc::fork() };
    if keeper < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if keeper == 0 {
        unsafe { libc::close(rep_r) };
        unblock_all();
        slirp_keeper(pid, host_loopback, true, rep_w);
    }
    unsafe { libc::close(rep_w) };
    keeper_report(rep_r)
}

/// `--exit-command JSON-ARGV` (conmon's exit command): run once the container is gone for
/// good, detached, output discarded.
pub fn run_exit_command(json: &str) {
    let Ok(argv) = serde_json::from_str::<Vec<String>>(json) else { return };
    let Some((prog, rest)) = argv.split_first() else { return };
    let mut cmd = Command::new(prog);
    cmd.args(rest).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    unsafe {
        cmd.pre_exec(|| {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::setsid();
            Ok(())
        });
    }
    let _ = cmd.spawn();
}

/// `nsexec`: join the user namespace (if any) and the network namespace, exec the command.
pub fn nsexec(args: &Args) -> i32 {
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            crate::fail(&e.to_string(), 125);
        }
    }
    if let Err(e) = setns_path(args.require("netns"), libc::CLONE_NEWNET) {
        crate::fail(&e, 125);
    }
    if args.words.is_empty() {
        crate::fail("nsexec: missing command", 125);
    }
    let e = Command::new(find_tool(&args.words[0])).args(&args.words[1..]).exec();
    crate::fail(&format!("{}: {e}", args.words[0]), 127)
}

// ---------------------------------------------------------------------------------------
// The per-user network namespace.

fn pipe_cloexec() -> (RawFd, RawFd) {
    let mut fds = [0 as RawFd; 2];
    unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    (fds[0], fds[1])
}

fn write_fd(fd: RawFd, s: &str) {
    unsafe { libc::write(fd, s.as_ptr() as *const libc::c_void, s.len()) };
}

fn to_null() {
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        if null > 2 {
            libc::close(null);
        }
    }
}

struct Slirp {
    pid: i32,
}

/// Start slirp4netns on the holder's namespace; wait until tap0 is configured.
fn start_slirp(slirp: &str, target: &[String], host_loopback: bool, exit_r: RawFd) -> Result<Slirp, String> {
    let (ready_r, ready_w) = pipe_cloexec();
    let mut args: Vec<String> = vec!["--configure".into(), "--mtu=65520".into(), "--enable-sandbox".into(), "--enable-seccomp".into()];
    if !host_loopback {
        args.push("--disable-host-loopback".into());
    }
    args.push("--ready-fd=3".into());
    args.push("--exit-fd=4".into());
    args.extend(target.iter().cloned());
    let mut cmd = Command::new(find_tool(slirp));
    cmd.args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    unsafe {
        cmd.pre_exec(move || {
            // fds 3 and 4 for slirp4netns, without CLOEXEC (moved out of the way first: either
            // may be 3 or 4 already).
            let (r, e) = (libc::fcntl(ready_w, libc::F_DUPFD_CLOEXEC, 10), libc::fcntl(exit_r, libc::F_DUPFD_CLOEXEC, 10));
            if r < 0 || e < 0 || libc::dup2(r, 3) < 0 || libc::dup2(e, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn();
    unsafe { libc::close(ready_w) };
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            unsafe { libc::close(ready_r) };
            return Err(format!("cannot start {slirp}: {e} (install the slirp4netns package)"));
        }
    };
    let pid = child.id() as i32;
    std::mem::forget(child);
    let mut pfd = libc::pollfd { fd: ready_r, events: libc::POLLIN, revents: 0 };
    let n = unsafe { libc::poll(&mut pfd, 1, 10_000) };
    let mut b = [0u8; 1];
    let got = n > 0 && unsafe { libc::read(ready_r, b.as_mut_ptr() as *mut libc::c_void, 1) } == 1;
    unsafe { libc::close(ready_r) };
    if !got {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        let hint = if unsafe { libc::access(c"/dev/net/tun".as_ptr(), libc::R_OK | libc::W_OK) } != 0 {
            " (/dev/net/tun is not accessible: sudo chmod 0666 /dev/net/tun)"
        } else {
            ""
        };
        return Err(format!("slirp4netns did not configure the network namespace{hint}"));
    }
    Ok(Slirp { pid })
}

fn state_json(sup: i32, holder: i32, slirp: i32, host_loopback: bool) -> String {
    serde_json::json!({ "pid": sup, "holderPid": holder, "slirpPid": slirp, "hostLoopback": host_loopback }).to_string()
}

fn write_state(path: &str, sup: i32, holder: i32, slirp: i32, host_loopback: bool) {
    let text = state_json(sup, holder, slirp, host_loopback);
    let tmp = format!("{path}.tmp-{sup}");
    let written = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()));
    if written.is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

pub fn netns_init(args: &Args) -> i32 {
    let userns_pid = args.userns_pid();
    let state = args.require("state").to_string();
    let slirp = args.get("slirp").unwrap_or("slirp4netns").to_string();
    let host_loopback = args.has("--host-loopback");
    let (rep_r, rep_w) = pipe_cloexec();
    let sup = unsafe { libc::fork() };
    if sup < 0 {
        crate::fail(&format!("fork: {}", std::io::Error::last_os_error()), 125);
    }
    if sup > 0 {
        unsafe { libc::close(rep_w) };
        let mut text = String::new();
        let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(rep_r) };
        let _ = f.read_to_string(&mut text);
        let text = text.trim();
        if let Some(msg) = text.strip_prefix("E") {
            crate::fail(msg, 125);
        }
        if text.is_empty() {
            crate::fail("the network namespace supervisor failed to start", 125);
        }
        println!("{text}");
        return 0;
    }
    // The supervisor.
    unsafe {
        libc::close(rep_r);
        libc::setsid();
        libc::chdir(c"/".as_ptr());
        libc::prctl(libc::PR_SET_NAME, c"ncx-netns".as_ptr() as libc::c_ulong, 0, 0, 0);
    }
    let me = std::process::id() as i32;
    let fail_sup = |msg: String| -> ! {
        write_fd(rep_w, &format!("E{msg}"));
        unsafe { libc::_exit(125) };
    };
    // (The user-namespace holder is not watched: killing it must not take the running
    // containers' network along; its restart takes over the same namespace.)
    // The holder.
    let (h_r, h_w) = pipe_cloexec();
    let holder = unsafe { libc::fork() };
    if holder < 0 {
        fail_sup(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if holder == 0 {
        unsafe {
            libc::close(h_r);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            libc::prctl(libc::PR_SET_NAME, c"ncx-netns-hold".as_ptr() as libc::c_ulong, 0, 0, 0);
        }
        if let Some(p) = userns_pid {
            if let Err(e) = userns::join(p) {
                write_fd(h_w, &format!("E{e}"));
                unsafe { libc::_exit(1) };
            }
        }
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
            write_fd(h_w, &format!("Ecannot create the network namespace: {}", std::io::Error::last_os_error()));
            unsafe { libc::_exit(1) };
        }
        // Its loopback up (the bridges' setup no longer does it: one `ip` process less).
        if let Err(e) = rtnl::set_up("lo") {
            write_fd(h_w, &format!("Ecannot bring up the loopback of the network namespace: {}", std::io::Error::from_raw_os_error(e)));
            unsafe { libc::_exit(1) };
        }
        // /proc/sys/net is the caller's network namespace: routing between bridges and tap0.
        if let Err(e) = std::fs::write("/proc/sys/net/ipv4/ip_forward", "1") {
            write_fd(h_w, &format!("Ecannot enable IP forwarding in the network namespace: {e}"));
            unsafe { libc::_exit(1) };
        }
        write_fd(h_w, "R");
        unsafe {
            libc::close(h_w);
            to_null();
            libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, u32::MAX, 0 as libc::c_uint); // (the libc crate has no close_range() for musl)
            loop {
                libc::pause();
            }
        }
    }
    unsafe { libc::close(h_w) };
    let mut b = [0u8; 512];
    let n = unsafe { libc::read(h_r, b.as_mut_ptr() as *mut libc::c_void, b.len()) };
    unsafe { libc::close(h_r) };
    if n < 1 || b[0] != b'R' {
        let msg = if n > 1 { String::from_utf8_lossy(&b[1..n as usize]).to_string() } else { "the network namespace holder died".into() };
        fail_sup(msg);
    }
    // slirp4netns exits when the read end of this pipe reports EOF, i.e. when we exit.
    let (exit_r, _exit_w) = pipe_cloexec();
    let mut s = match start_slirp(&slirp, &[holder.to_string(), "tap0".into()], host_loopback, exit_r) {
        Ok(s) => s,
        Err(e) => {
            unsafe { libc::kill(holder, libc::SIGKILL) };
            fail_sup(e);
        }
    };
    write_state(&state, me, holder, s.pid, host_loopback);
    write_fd(rep_w, &state_json(me, holder, s.pid, host_loopback));
    unsafe {
        libc::close(rep_w);
        to_null();
    }
    // Supervise: SIGCHLD (slirp4netns or the holder died), SIGTERM, and the removal of the
    // runtime directory holding the state file (removing the run root, or a reboot's fresh
    // /run, ends the namespace; the user-namespace holder's exit does not: see above).
    let (set, _) = crate::signals::block_signals(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP]);
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    let run_dir = std::path::Path::new(&state).parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
    let gone = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    if gone >= 0 {
        let d = cstr(&run_dir);
        unsafe { libc::inotify_add_watch(gone, d.as_ptr(), libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) };
    }
    let mut restarts: Vec<Instant> = Vec::new();
    let shutdown = |s: &Slirp| unsafe {
        libc::kill(s.pid, libc::SIGTERM);
        libc::kill(holder, libc::SIGKILL);
        libc::_exit(0);
    };
    loop {
        let mut fds = [libc::pollfd { fd: sfd, events: libc::POLLIN, revents: 0 }, libc::pollfd { fd: gone, events: libc::POLLIN, revents: 0 }];
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        if fds[1].revents != 0 {
            shutdown(&s);
        }
        if fds[0].revents & libc::POLLIN == 0 {
            continue;
        }
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        unsafe { libc::read(sfd, &mut info as *mut _ as *mut libc::c_void, std::mem::size_of::<libc::signalfd_siginfo>()) };
        if info.ssi_signo as i32 != libc::SIGCHLD {
            shutdown(&s);
        }
        loop {
            let pid = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == holder {
                shutdown(&s);
            }
            if pid == s.pid {
                // Restart slirp4netns, at most 5 times a minute.
                restarts.retain(|t| t.elapsed() < Duration::from_secs(60));
                if restarts.len() >= 5 {
                    shutdown(&s);
                }
                restarts.push(Instant::now());
                match start_slirp(&slirp, &[holder.to_string(), "tap0".into()], host_loopback, exit_r) {
                    Ok(n) => {
                        s = n;
                        write_state(&state, me, holder, s.pid, host_loopback);
                    }
                    Err(_) => shutdown(&s),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Published ports.

/// Listening sockets, opened in the caller's (the host's) network namespace.
#[derive(Clone)]
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
    let specs = parse_publish(text)?;
    let mut socks: Vec<(RawFd, Publish)> = Vec::new();
    let close_all = |s: &Vec<(RawFd, Publish)>| {
        for (fd, _) in s {
            unsafe { libc::close(*fd) };
        }
    };
    for mut p in specs {
        let ty = if p.proto == "udp" { libc::SOCK_DGRAM } else { libc::SOCK_STREAM };
        let family = if p.host_ip.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
        let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
        if fd < 0 {
            close_all(&socks);
            if errno() == libc::EAFNOSUPPORT {
                return Err(format!("cannot publish [{}]:{}/{}: IPv6 is not enabled on this host", p.host_ip, p.host_port, p.proto));
            }
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let one: libc::c_int = 1;
        unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one as *const _ as *const libc::c_void, 4) };
        if family == libc::AF_INET6 {
            // `[::]:PORT` is IPv6 only, as Docker's: `0.0.0.0:PORT` may be another publish.
            unsafe { libc::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &one as *const _ as *const libc::c_void, 4) };
        }
        let (addr, len) = sockaddr(p.host_ip, p.host_port);
        let rc = unsafe { libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len) };
        if rc < 0 {
            let e = errno();
            unsafe { libc::close(fd) };
            close_all(&socks);
            let what = std::net::SocketAddr::new(p.host_ip, p.host_port);
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
        if p.proto == "tcp" && unsafe { libc::listen(fd, 1024) } < 0 {
            close_all(&socks);
            return Err(format!("listen: {}", std::io::Error::last_os_error()));
        }
        if p.host_port == 0 {
            let mut got: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            unsafe { libc::getsockname(fd, &mut got as *mut _ as *mut libc::sockaddr, &mut len) };
            p.host_port = sockaddr_port(&got);
        }
        socks.push((fd, p));
    }
    Ok(Some(Listeners { socks }))
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

/// The port of an AF_INET or AF_INET6 address (both keep it at the same place).
fn sockaddr_port(ss: &libc::sockaddr_storage) -> u16 {
    u16::from_be(unsafe { (*(ss as *const _ as *const libc::sockaddr_in)).sin_port })
}

/// Bytes a relay pipe holds (F_SETPIPE_SZ; an unprivileged process may ask for up to
/// /proc/sys/fs/pipe-max-size, 1 MiB by default).
const PIPE_SIZE: libc::c_int = 1 << 20;

/// One direction of a relayed connection: bytes move socket → pipe → socket with splice(2),
/// never through this process's memory.
struct Half {
    pipe_r: RawFd,
    pipe_w: RawFd,
    /// What the pipe can hold (the size the kernel granted).
    cap: usize,
    /// Bytes in the pipe, not yet sent on.
    pending: usize,
    eof: bool,
    shut: bool,
}

impl Half {
    fn new() -> Option<Half> {
        let mut fds = [0 as RawFd; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return None;
        }
        let mut cap = unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, PIPE_SIZE) };
        if cap < 0 {
            cap = unsafe { libc::fcntl(fds[1], libc::F_GETPIPE_SZ) };
        }
        Some(Half { pipe_r: fds[0], pipe_w: fds[1], cap: cap.max(4096) as usize, pending: 0, eof: false, shut: false })
    }
    fn done(&self) -> bool {
        self.shut
    }
    fn wants_read(&self) -> bool {
        !self.eof && self.pending < self.cap
    }
    fn wants_write(&self) -> bool {
        self.pending > 0
    }
}

impl Drop for Half {
    fn drop(&mut self) {
        unsafe {
            libc::close(self.pipe_r);
            libc::close(self.pipe_w);
        }
    }
}

/// A relayed TCP connection (also the port bypass's reverse relay, bypass.rs).
pub(crate) struct Conn {
    client: RawFd,
    upstream: RawFd,
    connecting: bool,
    /// client → upstream, upstream → client
    up: Half,
    down: Half,
    dead: bool,
}

impl Conn {
    /// A connection between an accepted `client` and an `upstream` socket whose (non-blocking)
    /// connect was started: `connecting` when it returned EINPROGRESS. None (both closed) when
    /// no pipes are to be had.
    pub(crate) fn new(client: RawFd, upstream: RawFd, connecting: bool) -> Option<Conn> {
        let (Some(up), Some(down)) = (Half::new(), Half::new()) else {
            unsafe {
                libc::close(client);
                libc::close(upstream);
            }
            return None;
        };
        Some(Conn { client, upstream, connecting, up, down, dead: false })
    }

    /// What to poll for: the client's pollfd, then the upstream's.
    pub(crate) fn pollfds(&self) -> [libc::pollfd; 2] {
        let mut ce = 0;
        let mut ue = 0;
        if self.connecting {
            ue |= libc::POLLOUT;
        } else {
            if self.up.wants_read() {
                ce |= libc::POLLIN;
            }
            if self.up.wants_write() {
                ue |= libc::POLLOUT;
            }
            if self.down.wants_read() {
                ue |= libc::POLLIN;
            }
            if self.down.wants_write() {
                ce |= libc::POLLOUT;
            }
        }
        [libc::pollfd { fd: self.client, events: ce, revents: 0 }, libc::pollfd { fd: self.upstream, events: ue, revents: 0 }]
    }

    /// Move what poll reported (`cf`, `uf`: the client's and the upstream's pollfd).
    pub(crate) fn on_events(&mut self, cf: libc::pollfd, uf: libc::pollfd) {
        if cf.revents == 0 && uf.revents == 0 {
            return;
        }
        if self.connecting {
            let mut err: libc::c_int = 0;
            let mut len = 4u32;
            unsafe { libc::getsockopt(self.upstream, libc::SOL_SOCKET, libc::SO_ERROR, &mut err as *mut _ as *mut libc::c_void, &mut len) };
            if err != 0 || uf.revents & (libc::POLLERR | libc::POLLHUP) != 0 && uf.revents & libc::POLLOUT == 0 {
                self.dead = true;
                return;
            }
            if uf.revents & libc::POLLOUT == 0 {
                return;
            }
            self.connecting = false;
        }
        if !pump(self.client, self.upstream, &mut self.up) || !pump(self.upstream, self.client, &mut self.down) {
            self.dead = true;
        }
        if self.up.done() && self.down.done() {
            self.dead = true;
        }
        if (cf.revents | uf.revents) & libc::POLLERR != 0 {
            self.dead = true;
        }
    }

    /// Close and drop the finished connections.
    pub(crate) fn reap(conns: &mut Vec<Conn>) {
        conns.retain(|c| {
            if c.dead {
                unsafe {
                    libc::close(c.client);
                    libc::close(c.upstream);
                }
            }
            !c.dead
        });
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> isize {
    unsafe { libc::splice(from, std::ptr::null_mut(), to, std::ptr::null_mut(), len, libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK) }
}

/// Move bytes src → pipe → dst; returns false on an error (the connection dies).
fn pump(src: RawFd, dst: RawFd, h: &mut Half) -> bool {
    loop {
        let mut progressed = false;
        if h.pending > 0 {
            let n = splice(h.pipe_r, dst, h.pending);
            if n > 0 {
                h.pending -= n as usize;
                progressed = true;
            } else if n < 0 && errno() != libc::EAGAIN && errno() != libc::EINTR {
                return false;
            }
        }
        if !h.eof && h.pending < h.cap {
            let n = splice(src, h.pipe_w, h.cap - h.pending);
            if n > 0 {
                h.pending += n as usize;
                progressed = true;
            } else if n == 0 {
                h.eof = true;
            } else if errno() != libc::EAGAIN && errno() != libc::EINTR {
                return false;
            }
        }
        if h.eof && h.pending == 0 && !h.shut {
            unsafe { libc::shutdown(dst, libc::SHUT_WR) };
            h.shut = true;
        }
        if !progressed {
            return true;
        }
    }
}

/// Fork the forwarder: it joins `netns` (or, `state:FILE`, the container's namespace at each
/// connection; the caller already is in the user namespace) and relays every connection to
/// the container's address. It dies with its parent (the monitor, or a foreground `run`).
pub fn spawn_forwarder(l: &Listeners, netns: &str) -> Result<i32, String> {
    // Port bypass (bypass.rs): a socket pair on which the container hands over its seccomp listener.
    let ctl = crate::bypass::control_pair(l);
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
