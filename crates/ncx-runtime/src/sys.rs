//! The runtime's supervisor-side syscalls behind one trait, as ncx_core::sys::Sys does for a
//! container's setup (and youki's libcontainer `Syscall` for everything): the parent's side of
//! `run` (foreground.rs), the monitor's start of a container (monitor/start.rs), the attachment of
//! a container's network (net/attach.rs) and the published ports' sockets (net/forward.rs).
//! `RealSys` is the kernel. The tests' `RecordingSys` records every call as a line of text,
//! fails those it is told to, and tracks the descriptors it handed out, so a test asserts the
//! order of the calls and that an error path closes what it opened.
//!
//! What runs in a forked child (the container's PID 1, a keeper, the forwarder) stays on the
//! real calls: the fake never returns 0 from `clone_into`.

use crate::cgroup::Placement;
use crate::net::{Listeners, NetSetup};
use crate::status::Status;
use crate::supervise::Output;
use crate::Args;
use ncx_core::spec::Spec;
use ncx_core::state::State;
use ncx_core::sys::{cstr, errno};
use std::os::fd::{IntoRawFd, RawFd};

/// An errno.
pub(crate) type Errno = i32;

pub(crate) trait Sys {
    // Descriptors.
    /// A close-on-exec pipe: (read end, write end).
    fn pipe(&mut self) -> Result<(RawFd, RawFd), Errno>;
    /// A close-on-exec SOCK_SEQPACKET pair (the child → parent messages, fdpass.rs).
    fn socketpair(&mut self) -> Result<(RawFd, RawFd), Errno>;
    /// /dev/null, read-write, close-on-exec.
    fn open_null(&mut self) -> RawFd;
    fn close(&mut self, fd: RawFd);
    /// One write of `data`; false when it wrote nothing.
    fn write(&mut self, fd: RawFd, data: &[u8]) -> bool;
    fn set_nonblock(&mut self, fd: RawFd);

    // Processes and namespaces.
    fn unshare(&mut self, flags: libc::c_int) -> Result<(), Errno>;
    /// clone(2) with `flags`, the child placed in `cgroup` (cgroup.rs): the pid, 0 in the child.
    fn clone_into(&mut self, flags: libc::c_int, cgroup: Option<&Placement>) -> Result<i32, Errno>;
    fn kill(&mut self, pid: i32, sig: libc::c_int);
    /// Wait for `pid`; its wait status.
    fn waitpid(&mut self, pid: i32) -> i32;
    /// Block `signals` (signals.rs): the set and the previous mask.
    fn block_signals(&mut self, signals: &[libc::c_int]) -> (libc::sigset_t, libc::sigset_t);
    /// Join the per-user user namespace through its holder's pid (ncx_core::userns).
    fn join_userns(&mut self, pid: i32) -> Result<(), String>;
    /// `--net-join PATH`: another container's network namespace (net/attach.rs).
    fn join_netns(&mut self, path: &str) -> Result<(), String>;
    /// The clone flags a container must not get anew (`--pid host`, `--ns-join`; run.rs).
    fn shared_namespaces(&mut self, spec: &Spec, ns_join: Option<&str>) -> Result<libc::c_int, String>;
    /// A user namespace of the container's own (ownns.rs); the fd is closed after the clone.
    fn own_userns(&mut self, spec: &mut Spec) -> Result<Option<RawFd>, String>;

    // The container's cgroup (cgroup.rs).
    fn cgroup_prepare(&mut self, spec: &Spec) -> Result<Option<Placement>, String>;
    fn cgroup_oom_killed(&mut self, p: &Placement) -> bool;
    /// Remove it; a warning when it could not be.
    fn cgroup_destroy(&mut self, p: Placement) -> Option<String>;

    // The network (net/).
    fn bind_ports(&mut self, args: &Args) -> Result<Option<Listeners>, String>;
    /// `NetSetup::prefork`: a `--network slirp4netns` keeper forked before the clone.
    fn net_prefork(&mut self, n: NetSetup) -> NetSetup;
    fn net_attach(&mut self, n: &NetSetup, pid: i32) -> Result<(), String>;
    fn spawn_forwarder(&mut self, l: &Listeners, target: &str) -> Result<i32, String>;
    /// Open a namespace file (the fd `setns` takes).
    fn open_ns(&mut self, path: &str) -> Result<RawFd, Errno>;
    fn setns(&mut self, fd: RawFd, kind: libc::c_int) -> Result<(), Errno>;
    /// A NETLINK_ROUTE socket of the caller's network namespace.
    fn nl_open(&mut self) -> Result<RawFd, Errno>;
    /// Send one rtnetlink request (`what` names it) and wait for the kernel's answer.
    fn nl_call(&mut self, fd: RawFd, what: &str, msg: &[u8]) -> Result<(), Errno>;
    /// The index of a network interface of the caller's namespace.
    fn if_index(&mut self, name: &str) -> Result<u32, Errno>;
    /// A non-blocking close-on-exec socket.
    fn socket(&mut self, family: libc::c_int, ty: libc::c_int) -> Result<RawFd, Errno>;
    /// setsockopt with an int value set to 1.
    fn sockopt_on(&mut self, fd: RawFd, level: libc::c_int, opt: libc::c_int);
    fn bind(&mut self, fd: RawFd, addr: std::net::SocketAddr) -> Result<(), Errno>;
    fn listen(&mut self, fd: RawFd, backlog: libc::c_int) -> Result<(), Errno>;
    /// The port a socket is bound to (getsockname).
    fn local_port(&mut self, fd: RawFd) -> u16;

    // The container's setup and its supervision.
    /// Read the child's setup messages (fdpass.rs): a pty master, an error.
    fn receive(&mut self, sock: RawFd) -> (Option<RawFd>, Option<(i32, String)>);
    /// Supervise the container until it exits (supervise.rs): its exit code.
    fn supervise(&mut self, pid: i32, set: &libc::sigset_t, master: Option<RawFd>, no_stdin: bool, output: &mut Output) -> i32;
    fn write_state(&mut self, path: &str, state: &State);
    fn remove_dir_all(&mut self, dir: &str) -> Result<(), String>;
    /// A `--status-fd` event (status.rs).
    fn status(&mut self, status: &Status, event: serde_json::Value);
    /// A line on stderr (an error without a status fd).
    fn stderr(&mut self, line: &str);
}

/// The kernel.
pub(crate) struct RealSys;

fn rc(r: libc::c_int) -> Result<libc::c_int, Errno> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

impl Sys for RealSys {
    fn pipe(&mut self) -> Result<(RawFd, RawFd), Errno> {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| e.raw_os_error())?;
        Ok((r.into_raw_fd(), w.into_raw_fd()))
    }
    fn socketpair(&mut self) -> Result<(RawFd, RawFd), Errno> {
        use rustix::net::{AddressFamily, SocketFlags, SocketType};
        let (a, b) = rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None).map_err(|e| e.raw_os_error())?;
        Ok((a.into_raw_fd(), b.into_raw_fd()))
    }
    fn open_null(&mut self) -> RawFd {
        unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }
    }
    fn close(&mut self, fd: RawFd) {
        unsafe { libc::close(fd) };
    }
    fn write(&mut self, fd: RawFd, data: &[u8]) -> bool {
        unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) > 0 }
    }
    fn set_nonblock(&mut self, fd: RawFd) {
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    }
    fn unshare(&mut self, flags: libc::c_int) -> Result<(), Errno> {
        rc(unsafe { libc::unshare(flags) }).map(|_| ())
    }
    fn clone_into(&mut self, flags: libc::c_int, cgroup: Option<&Placement>) -> Result<i32, Errno> {
        rc(crate::cgroup::clone_into(flags, cgroup))
    }
    fn kill(&mut self, pid: i32, sig: libc::c_int) {
        use rustix::process::{kill_process, Pid, Signal};
        if let (Some(pid), Some(sig)) = (Pid::from_raw(pid), Signal::from_named_raw(sig)) {
            let _ = kill_process(pid, sig);
        }
    }
    fn waitpid(&mut self, pid: i32) -> i32 {
        use rustix::process::{waitpid, Pid, WaitOptions};
        // (never pid ≤ 0: that would wait for any child)
        let Some(pid) = Pid::from_raw(pid) else { return 0 };
        match waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => status.as_raw() as i32,
            _ => 0,
        }
    }
    fn block_signals(&mut self, signals: &[libc::c_int]) -> (libc::sigset_t, libc::sigset_t) {
        crate::signals::block_signals(signals)
    }
    fn join_userns(&mut self, pid: i32) -> Result<(), String> {
        ncx_core::userns::join(pid).map_err(|e| e.to_string())
    }
    fn join_netns(&mut self, path: &str) -> Result<(), String> {
        crate::net::join_netns(path)
    }
    fn shared_namespaces(&mut self, spec: &Spec, ns_join: Option<&str>) -> Result<libc::c_int, String> {
        crate::run::shared_namespaces(spec, ns_join)
    }
    fn own_userns(&mut self, spec: &mut Spec) -> Result<Option<RawFd>, String> {
        crate::ownns::prepare(spec)
    }
    fn cgroup_prepare(&mut self, spec: &Spec) -> Result<Option<Placement>, String> {
        crate::cgroup::prepare(spec)
    }
    fn cgroup_oom_killed(&mut self, p: &Placement) -> bool {
        p.oom_killed()
    }
    fn cgroup_destroy(&mut self, p: Placement) -> Option<String> {
        p.destroy()
    }
    fn bind_ports(&mut self, args: &Args) -> Result<Option<Listeners>, String> {
        crate::net::bind_ports(args)
    }
    fn net_prefork(&mut self, n: NetSetup) -> NetSetup {
        n.prefork()
    }
    fn net_attach(&mut self, n: &NetSetup, pid: i32) -> Result<(), String> {
        crate::net::attach(n, pid)
    }
    fn spawn_forwarder(&mut self, l: &Listeners, target: &str) -> Result<i32, String> {
        crate::net::spawn_forwarder(l, target)
    }
    fn open_ns(&mut self, path: &str) -> Result<RawFd, Errno> {
        let c = cstr(path);
        rc(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
    }
    fn setns(&mut self, fd: RawFd, kind: libc::c_int) -> Result<(), Errno> {
        rc(unsafe { libc::setns(fd, kind) }).map(|_| ())
    }
    fn nl_open(&mut self) -> Result<RawFd, Errno> {
        rc(unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) })
    }
    fn nl_call(&mut self, fd: RawFd, _what: &str, msg: &[u8]) -> Result<(), Errno> {
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let to = &kernel as *const libc::sockaddr_nl as *const libc::sockaddr;
        if unsafe { libc::sendto(fd, msg.as_ptr() as *const libc::c_void, msg.len(), 0, to, std::mem::size_of::<libc::sockaddr_nl>() as u32) } < 0 {
            return Err(errno());
        }
        let mut buf = [0u8; 4096];
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            return Err(errno());
        }
        ncx_core::rtnl::parse_ack(&buf[..n as usize])
    }
    fn if_index(&mut self, name: &str) -> Result<u32, Errno> {
        let c = cstr(name);
        match unsafe { libc::if_nametoindex(c.as_ptr()) } {
            0 => Err(errno()),
            i => Ok(i),
        }
    }
    fn socket(&mut self, family: libc::c_int, ty: libc::c_int) -> Result<RawFd, Errno> {
        rc(unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })
    }
    fn sockopt_on(&mut self, fd: RawFd, level: libc::c_int, opt: libc::c_int) {
        let one: libc::c_int = 1;
        unsafe { libc::setsockopt(fd, level, opt, &one as *const _ as *const libc::c_void, 4) };
    }
    fn bind(&mut self, fd: RawFd, addr: std::net::SocketAddr) -> Result<(), Errno> {
        let (ss, len) = crate::net::sockaddr(addr.ip(), addr.port());
        rc(unsafe { libc::bind(fd, &ss as *const _ as *const libc::sockaddr, len) }).map(|_| ())
    }
    fn listen(&mut self, fd: RawFd, backlog: libc::c_int) -> Result<(), Errno> {
        rc(unsafe { libc::listen(fd, backlog) }).map(|_| ())
    }
    fn local_port(&mut self, fd: RawFd) -> u16 {
        let mut got: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        unsafe { libc::getsockname(fd, &mut got as *mut _ as *mut libc::sockaddr, &mut len) };
        // (AF_INET and AF_INET6 keep the port at the same place)
        u16::from_be(unsafe { (*(&got as *const _ as *const libc::sockaddr_in)).sin_port })
    }
    fn receive(&mut self, sock: RawFd) -> (Option<RawFd>, Option<(i32, String)>) {
        crate::fdpass::receive(sock)
    }
    fn supervise(&mut self, pid: i32, set: &libc::sigset_t, master: Option<RawFd>, no_stdin: bool, output: &mut Output) -> i32 {
        crate::supervise::supervise_logged(pid, set, master, no_stdin, output)
    }
    fn write_state(&mut self, path: &str, state: &State) {
        let _ = state.write(path);
    }
    fn remove_dir_all(&mut self, dir: &str) -> Result<(), String> {
        std::fs::remove_dir_all(dir).map_err(|e| e.to_string())
    }
    fn status(&mut self, status: &Status, event: serde_json::Value) {
        status.send(event);
    }
    fn stderr(&mut self, line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

#[cfg(test)]
pub(crate) use fake::{args, RecordingSys};

#[cfg(test)]
mod fake {
    use super::*;

    /// Records every call; a call whose line starts with a prefix in `fail` fails with that
    /// errno (or, for the calls that fail with a message, "fake failure: LINE").
    /// Descriptors are numbered from 100; `open` lists those not closed yet.
    #[derive(Default)]
    pub(crate) struct RecordingSys {
        pub calls: Vec<String>,
        pub fail: Vec<(String, Errno)>,
        pub open: Vec<RawFd>,
        /// The next descriptor handed out.
        pub next_fd: RawFd,
        /// The pid `clone_into` returns (default 4242).
        pub pid: i32,
        /// What `receive` reports: a pty master, a setup error.
        pub master: Option<RawFd>,
        pub child_error: Option<(i32, String)>,
        /// The exit code `supervise` returns.
        pub exit: i32,
        /// The listeners `bind_ports` returns.
        pub listeners: Option<Listeners>,
        /// Give `cgroup_prepare` a cgroup (this directory), with `oom` as its OOM verdict.
        pub cgroup: Option<String>,
        pub oom: bool,
        /// `if_index`: the interfaces that exist (name → index is position + 1).
        pub links: Vec<String>,
        /// `local_port` of a socket bound to port 0.
        pub ephemeral: u16,
        /// Events sent to the status fd, in order.
        pub events: Vec<serde_json::Value>,
        /// The states written, in order.
        pub states: Vec<State>,
    }

    impl RecordingSys {
        pub fn new() -> RecordingSys {
            RecordingSys { next_fd: 100, pid: 4242, ephemeral: 40000, ..Default::default() }
        }
        fn record(&mut self, call: String) -> Result<(), Errno> {
            let failing = self.fail.iter().find(|(prefix, _)| call.starts_with(prefix.as_str())).map(|(_, e)| *e);
            self.calls.push(call);
            match failing {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        fn record_msg(&mut self, call: String) -> Result<(), String> {
            let line = call.clone();
            self.record(call).map_err(|_| format!("fake failure: {line}"))
        }
        fn fd(&mut self) -> RawFd {
            let fd = self.next_fd;
            self.next_fd += 1;
            self.open.push(fd);
            fd
        }
        /// The index of the first recorded call that starts with `prefix`.
        pub fn at(&self, prefix: &str) -> Option<usize> {
            self.calls.iter().position(|c| c.starts_with(prefix))
        }
        /// `a` was recorded, and before `b`.
        pub fn before(&self, a: &str, b: &str) -> bool {
            match (self.at(a), self.at(b)) {
                (Some(x), Some(y)) => x < y,
                _ => false,
            }
        }
        pub fn called(&self, prefix: &str) -> bool {
            self.at(prefix).is_some()
        }
        pub fn event_names(&self) -> Vec<String> {
            self.events.iter().map(|e| e["event"].as_str().unwrap_or("").to_string()).collect()
        }
    }

    /// A command line: `--key value` pairs and `--flag`s.
    pub(crate) fn args(pairs: &[(&str, &str)], flags: &[&str]) -> Args {
        Args {
            opts: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    impl Sys for RecordingSys {
        fn pipe(&mut self) -> Result<(RawFd, RawFd), Errno> {
            self.record("pipe".into())?;
            Ok((self.fd(), self.fd()))
        }
        fn socketpair(&mut self) -> Result<(RawFd, RawFd), Errno> {
            self.record("socketpair".into())?;
            Ok((self.fd(), self.fd()))
        }
        fn open_null(&mut self) -> RawFd {
            let _ = self.record("open /dev/null".into());
            self.fd()
        }
        fn close(&mut self, fd: RawFd) {
            let _ = self.record(format!("close {fd}"));
            self.open.retain(|f| *f != fd);
        }
        fn write(&mut self, fd: RawFd, data: &[u8]) -> bool {
            self.record(format!("write {fd} {}", String::from_utf8_lossy(data))).is_ok()
        }
        fn set_nonblock(&mut self, fd: RawFd) {
            let _ = self.record(format!("nonblock {fd}"));
        }
        fn unshare(&mut self, flags: libc::c_int) -> Result<(), Errno> {
            self.record(format!("unshare {flags:#x}"))
        }
        fn clone_into(&mut self, flags: libc::c_int, cgroup: Option<&Placement>) -> Result<i32, Errno> {
            let into = cgroup.map(|p| format!(" into {}", p.dir)).unwrap_or_default();
            self.record(format!("clone {flags:#x}{into}"))?;
            Ok(self.pid)
        }
        fn kill(&mut self, pid: i32, sig: libc::c_int) {
            let _ = self.record(format!("kill {pid} {sig}"));
        }
        fn waitpid(&mut self, pid: i32) -> i32 {
            let _ = self.record(format!("waitpid {pid}"));
            0
        }
        fn block_signals(&mut self, signals: &[libc::c_int]) -> (libc::sigset_t, libc::sigset_t) {
            let _ = self.record(format!("block_signals {signals:?}"));
            unsafe { (std::mem::zeroed(), std::mem::zeroed()) }
        }
        fn join_userns(&mut self, pid: i32) -> Result<(), String> {
            self.record_msg(format!("join_userns {pid}"))
        }
        fn join_netns(&mut self, path: &str) -> Result<(), String> {
            self.record_msg(format!("join_netns {path}"))
        }
        fn shared_namespaces(&mut self, spec: &Spec, ns_join: Option<&str>) -> Result<libc::c_int, String> {
            self.record_msg(format!("shared_namespaces {}", ns_join.unwrap_or("-")))?;
            Ok(if spec.has_namespace("pid") { 0 } else { libc::CLONE_NEWPID })
        }
        fn own_userns(&mut self, _spec: &mut Spec) -> Result<Option<RawFd>, String> {
            self.record_msg("own_userns".into())?;
            Ok(None)
        }
        fn cgroup_prepare(&mut self, _spec: &Spec) -> Result<Option<Placement>, String> {
            self.record_msg("cgroup_prepare".into())?;
            Ok(self.cgroup.clone().map(Placement::fake))
        }
        fn cgroup_oom_killed(&mut self, p: &Placement) -> bool {
            let _ = self.record(format!("cgroup_oom_killed {}", p.dir));
            self.oom
        }
        fn cgroup_destroy(&mut self, p: Placement) -> Option<String> {
            self.record_msg(format!("cgroup_destroy {}", p.dir)).err()
        }
        fn bind_ports(&mut self, _args: &Args) -> Result<Option<Listeners>, String> {
            self.record_msg("bind_ports".into())?;
            Ok(self.listeners.clone())
        }
        fn net_prefork(&mut self, n: NetSetup) -> NetSetup {
            let _ = self.record("net_prefork".into());
            n
        }
        fn net_attach(&mut self, _n: &NetSetup, pid: i32) -> Result<(), String> {
            self.record_msg(format!("net_attach {pid}"))
        }
        fn spawn_forwarder(&mut self, _l: &Listeners, target: &str) -> Result<i32, String> {
            self.record_msg(format!("spawn_forwarder {target}"))?;
            Ok(5000)
        }
        fn open_ns(&mut self, path: &str) -> Result<RawFd, Errno> {
            self.record(format!("open_ns {path}"))?;
            Ok(self.fd())
        }
        fn setns(&mut self, fd: RawFd, kind: libc::c_int) -> Result<(), Errno> {
            self.record(format!("setns {fd} {kind:#x}"))
        }
        fn nl_open(&mut self) -> Result<RawFd, Errno> {
            self.record("nl_open".into())?;
            Ok(self.fd())
        }
        fn nl_call(&mut self, _fd: RawFd, what: &str, _msg: &[u8]) -> Result<(), Errno> {
            self.record(format!("nl {what}"))
        }
        fn if_index(&mut self, name: &str) -> Result<u32, Errno> {
            let _ = self.record(format!("if_index {name}"));
            self.links.iter().position(|l| l == name).map(|i| i as u32 + 1).ok_or(libc::ENODEV)
        }
        fn socket(&mut self, family: libc::c_int, ty: libc::c_int) -> Result<RawFd, Errno> {
            let f = if family == libc::AF_INET6 { "inet6" } else { "inet" };
            let t = if ty == libc::SOCK_DGRAM { "udp" } else { "tcp" };
            self.record(format!("socket {f} {t}"))?;
            Ok(self.fd())
        }
        fn sockopt_on(&mut self, fd: RawFd, level: libc::c_int, opt: libc::c_int) {
            let name = match (level, opt) {
                (libc::SOL_SOCKET, libc::SO_REUSEADDR) => "SO_REUSEADDR",
                (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => "IPV6_V6ONLY",
                _ => "other",
            };
            let _ = self.record(format!("sockopt {fd} {name}"));
        }
        fn bind(&mut self, fd: RawFd, addr: std::net::SocketAddr) -> Result<(), Errno> {
            self.record(format!("bind {fd} {addr}"))
        }
        fn listen(&mut self, fd: RawFd, backlog: libc::c_int) -> Result<(), Errno> {
            self.record(format!("listen {fd} {backlog}"))
        }
        fn local_port(&mut self, fd: RawFd) -> u16 {
            let _ = self.record(format!("local_port {fd}"));
            self.ephemeral
        }
        fn receive(&mut self, sock: RawFd) -> (Option<RawFd>, Option<(i32, String)>) {
            let _ = self.record(format!("receive {sock}"));
            (self.master, self.child_error.clone())
        }
        fn supervise(&mut self, pid: i32, _set: &libc::sigset_t, master: Option<RawFd>, no_stdin: bool, output: &mut Output) -> i32 {
            let logged = if output.log.is_some() { " logged" } else { "" };
            let _ = self.record(format!("supervise {pid} master={master:?} no_stdin={no_stdin}{logged}"));
            self.exit
        }
        fn write_state(&mut self, path: &str, state: &State) {
            let _ = self.record(format!("state {path} {} {}", state.status, state.exit_code));
            self.states.push(state.clone());
        }
        fn remove_dir_all(&mut self, dir: &str) -> Result<(), String> {
            self.record_msg(format!("remove_dir_all {dir}"))
        }
        fn status(&mut self, _status: &Status, event: serde_json::Value) {
            let _ = self.record(format!("status {event}"));
            self.events.push(event);
        }
        fn stderr(&mut self, line: &str) {
            let _ = self.record(format!("stderr {line}"));
        }
    }
}
