//! Published-port bypass (`--port-bypass 1`; the idea of rootless-containers/bypass4netns).
//!
//! Without it a published TCP port is relayed: the forwarder (net/forward.rs) accepts on the host and
//! connects to the container inside its network namespace, so every byte crosses two TCP
//! stacks. With it the container's own listening socket *is* the host's: host clients talk to
//! the application over plain host loopback, and nothing relays them.
//!
//! How:
//!   1. The container's PID 1 (run.rs `child`, before its seccomp profile and credentials)
//!      installs one more filter of its own: `bind` with an address length of a sockaddr_in
//!      (16) or sockaddr_in6 (28) → SECCOMP_RET_USER_NOTIF, everything else → ALLOW, with
//!      SECCOMP_FILTER_FLAG_NEW_LISTENER. It sends the listener fd over a socket pair to the
//!      forwarder and execs. (Filters stack; the profile's ERRNO/KILL actions still win over
//!      USER_NOTIF, so a profile that forbids bind keeps forbidding it; with
//!      seccomp=unconfined or --privileged this filter is the only one.)
//!   2. The forwarder — the process that already holds the published ports' listening
//!      sockets in the host's namespace — runs a supervisor thread in the host's network
//!      namespace. Per notification it reads the sockaddr from the caller's memory
//!      (process_vm_readv), checks the notification is still valid (SECCOMP_IOCTL_NOTIF_ID_VALID,
//!      against TOCTOU), and when it is an IPv4 bind (or IPv6 `::`/`::ffff:0.0.0.0`) to a
//!      published TCP container port, on the wildcard or the container's address, of a
//!      SOCK_STREAM socket: copies the container socket's O_NONBLOCK, SO_REUSEADDR and
//!      SO_REUSEPORT (read through pidfd_getfd) onto the host listener, stops the forwarder
//!      serving that listener, installs the listener in place of the container's fd
//!      (SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SETFD; not FLAG_SEND, which would make
//!      bind return the fd number instead of 0) and answers the bind with 0. Anything else
//!      continues unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE): unix sockets, UDP, ports that
//!      are not published, loopback-only binds.
//!   3. For each bypassed port, a reverse relay listens inside the container's namespace on
//!      the container port (`0.0.0.0`, so the application's own IPv6-only socket on the
//!      same port can still be bound) and relays to the host
//!      socket (the splice relay of relay.rs), so the container itself (`localhost:80`) and its
//!      peers (`web:80`) still reach the service.
//!   4. When the container's processes are gone (the listener reports POLLHUP) the reverse
//!      relays close and the forwarder serves the host listener again (until a restarted
//!      container binds it again).
//!
//! Differences from a relayed port: getsockname in the container shows the host address and
//! port (and an IPv4 address to an IPv6 socket); the application sees host clients with
//! their own address, and clients inside the container's namespace as 127.0.0.1 (the reverse
//! relay); a process started with `exec` is not under the filter and binds normally.
//!
//! Here: the kernel ABI, the filter, the decision (`handle`, behind `NotifySys` for the
//! tests) and its real calls; the supervisor thread and its reverse relays are supervisor.rs.

mod supervisor;
#[cfg(test)]
mod tests;

pub use supervisor::spawn_supervisor;

use ncx_core::net::Publish;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

// The kernel's seccomp user-notification ABI (linux/seccomp.h).
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
const SECCOMP_ADDFD_FLAG_SETFD: u32 = 1;
const NOTIF_RECV: libc::c_ulong = 0xC050_2100; // _IOWR('!', 0, struct seccomp_notif)
const NOTIF_SEND: libc::c_ulong = 0xC018_2101; // _IOWR('!', 1, struct seccomp_notif_resp)
const NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102; // _IOW('!', 2, __u64)
const NOTIF_ADDFD: libc::c_ulong = 0x4018_2103; // _IOW('!', 3, struct seccomp_notif_addfd)
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const SYS_BIND_X86_64: u32 = 49;

#[repr(C)]
#[derive(Default, Clone, Copy, Debug)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Default, Clone, Copy, Debug)]
pub struct Notif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub data: SeccompData,
}

#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

#[repr(C)]
struct NotifAddFd {
    id: u64,
    flags: u32,
    srcfd: u32,
    newfd: u32,
    newfd_flags: u32,
}

/// Why a step of the bypass failed (the call and its errno).
#[derive(Debug, PartialEq)]
pub struct BypassError {
    pub call: &'static str,
    pub errno: i32,
}

impl std::fmt::Display for BypassError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "port bypass: {}: {}", self.call, std::io::Error::from_raw_os_error(self.errno))
    }
}

impl std::error::Error for BypassError {}

fn os_err(call: &'static str) -> BypassError {
    BypassError { call, errno: ncx_core::sys::errno() }
}

// ---------------------------------------------------------------------------------------
// Switch and hand-over.

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The monitor's (or foreground run's) end of the socket pair to the forwarder; -1: none.
static CONTROL: AtomicI32 = AtomicI32::new(-1);

/// `--port-bypass 1` on `run`/`monitor` (the engine passes it when the container asks).
pub fn configure(args: &crate::Args) {
    ENABLED.store(matches!(args.get("port-bypass"), Some("1" | "true")), Ordering::Relaxed);
}

/// A socket pair for the listener hand-over, when bypass is on and a TCP port is published.
pub fn control_pair(socks: &[(RawFd, Publish)]) -> Option<(RawFd, RawFd)> {
    if !ENABLED.load(Ordering::Relaxed) || !socks.iter().any(|(_, p)| p.proto == "tcp") || !cfg!(target_arch = "x86_64") {
        return None;
    }
    let mut sv = [0 as RawFd; 2];
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) } < 0 {
        return None;
    }
    Some((sv[0], sv[1]))
}

pub fn set_control(fd: RawFd) {
    CONTROL.store(fd, Ordering::Relaxed);
}

/// The control socket `set_control` stored (-1: none), to pass on across an execve.
pub fn control() -> RawFd {
    CONTROL.load(Ordering::Relaxed)
}

/// The filter: `bind(fd, addr, 16 or 28)` → USER_NOTIF, anything else → ALLOW.
fn bind_filter() -> Vec<libc::sock_filter> {
    const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    vec![
        op(LD_ABS, 0, 0, 4),                  // 0: arch
        op(JEQ, 0, 6, AUDIT_ARCH_X86_64),     // 1: → 8
        op(LD_ABS, 0, 0, 0),                  // 2: nr
        op(JEQ, 0, 4, SYS_BIND_X86_64),       // 3: → 8
        op(LD_ABS, 0, 0, 32),                 // 4: args[2], low half (little-endian)
        op(JEQ, 1, 0, 16),                    // 5: sockaddr_in → 7
        op(JEQ, 0, 1, 28),                    // 6: sockaddr_in6 → 7, else → 8
        op(RET, 0, 0, SECCOMP_RET_USER_NOTIF), // 7
        op(RET, 0, 0, SECCOMP_RET_ALLOW),     // 8
    ]
}

/// In the container's PID 1 before its profile and credentials (it still has CAP_SYS_ADMIN in
/// its user namespace): install the bind filter and send its listener to the forwarder. When
/// anything fails the container runs without bypass (its ports stay relayed).
pub fn install_in_child() {
    let ctl = CONTROL.load(Ordering::Relaxed);
    if ctl < 0 || !cfg!(target_arch = "x86_64") {
        return;
    }
    let filter = bind_filter();
    let prog = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr() as *mut libc::sock_filter };
    let fd = unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog as *const libc::sock_fprog) } as RawFd;
    if fd < 0 {
        return;
    }
    crate::fdpass::send_fd(ctl, fd); // (SCM_RIGHTS, as a pty master goes to the supervisor)
    unsafe { libc::close(fd) };
}

// ---------------------------------------------------------------------------------------
// The decision, without privileges.

/// The address of a bind.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum BindAddr {
    V4(Ipv4Addr, u16),
    V6(Ipv6Addr, u16),
    Other,
}

/// Parse a sockaddr as the kernel would read it (`len` bytes from the caller).
pub fn parse_sockaddr(b: &[u8]) -> BindAddr {
    if b.len() < 2 {
        return BindAddr::Other;
    }
    let family = u16::from_ne_bytes([b[0], b[1]]) as i32;
    if family == libc::AF_INET && b.len() >= 8 {
        return BindAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7]), u16::from_be_bytes([b[2], b[3]]));
    }
    if family == libc::AF_INET6 && b.len() >= 24 {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[8..24]);
        return BindAddr::V6(Ipv6Addr::from(a), u16::from_be_bytes([b[2], b[3]]));
    }
    BindAddr::Other
}

/// The published TCP port (index into `ports`) a bind asks for, if it is to be bypassed: the
/// container port of a `tcp` publish, on the wildcard or the container's address (IPv6: `::`
/// or that address mapped). Loopback and other addresses are the container's own business.
/// Only IPv4 host listeners are handed over: an IPv6 one (`-p [::]:…`) would give the
/// container's IPv4 socket another family, so those stay with the forwarder.
pub fn published(bind: BindAddr, ports: &[Publish]) -> Option<usize> {
    let (v4, port) = match bind {
        BindAddr::V4(a, p) => (a, p),
        BindAddr::V6(a, p) if a.is_unspecified() => (Ipv4Addr::UNSPECIFIED, p),
        BindAddr::V6(a, p) => (a.to_ipv4_mapped()?, p),
        BindAddr::Other => return None,
    };
    if port == 0 {
        return None;
    }
    ports.iter().position(|p| p.proto == "tcp" && p.host_ip.is_ipv4() && p.container_port == port && (v4.is_unspecified() || v4 == p.container_ip))
}

/// What matters of the container's socket.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct SockInfo {
    pub domain: i32,
    pub ty: i32,
    pub protocol: i32,
    pub nonblock: bool,
    pub cloexec: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub v6only: bool,
}

/// Whether the host's IPv4 TCP listener can stand in for this socket.
pub fn replaceable(s: &SockInfo) -> bool {
    s.ty == libc::SOCK_STREAM && (s.protocol == 0 || s.protocol == libc::IPPROTO_TCP) && (s.domain == libc::AF_INET || (s.domain == libc::AF_INET6 && !s.v6only))
}

/// The calls the supervisor makes (RealNotify below; a fake in the tests).
pub trait NotifySys {
    fn recv(&mut self, listener: RawFd) -> Result<Notif, BypassError>;
    fn read_mem(&mut self, pid: u32, addr: u64, len: usize) -> Result<Vec<u8>, BypassError>;
    fn id_valid(&mut self, listener: RawFd, id: u64) -> bool;
    /// The container's socket `fd` of process `pid` (pidfd_getfd), described.
    fn socket_info(&mut self, pid: u32, fd: i32) -> Result<SockInfo, BypassError>;
    /// Give the host listener the container socket's O_NONBLOCK and reuse options.
    fn adopt(&mut self, host: RawFd, like: &SockInfo) -> Result<(), BypassError>;
    /// SECCOMP_IOCTL_NOTIF_ADDFD with SETFD: `src` becomes the caller's `target`.
    fn add_fd(&mut self, listener: RawFd, id: u64, src: RawFd, target: i32, cloexec: bool) -> Result<(), BypassError>;
    /// Answer the call: `continue_` lets it run as asked, else it returns `val`.
    fn respond(&mut self, listener: RawFd, id: u64, val: i64, continue_: bool) -> Result<(), BypassError>;
}

/// The host listeners the forwarder must not accept on (the container serves them).
/// (`count` spares the relaying threads the lock while nothing is bypassed.)
pub struct Registry {
    fds: Mutex<Vec<RawFd>>,
    count: AtomicUsize,
}

impl Registry {
    pub const fn new() -> Registry {
        Registry { fds: Mutex::new(Vec::new()), count: AtomicUsize::new(0) }
    }
    pub fn has(&self, fd: RawFd) -> bool {
        self.count.load(Ordering::Acquire) > 0 && self.fds.lock().map(|v| v.contains(&fd)).unwrap_or(false)
    }
    fn add(&self, fd: RawFd) {
        if let Ok(mut v) = self.fds.lock() {
            if !v.contains(&fd) {
                v.push(fd);
            }
            self.count.store(v.len(), Ordering::Release);
        }
    }
    fn remove(&self, fd: RawFd) {
        if let Ok(mut v) = self.fds.lock() {
            v.retain(|f| *f != fd);
            self.count.store(v.len(), Ordering::Release);
        }
    }
}

pub static BYPASSED: Registry = Registry::new();

/// What one notification came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Let the call run as asked.
    Continued,
    /// `ports[index]`'s host listener is now the caller's socket (caller `pid`).
    Bypassed { index: usize, pid: u32 },
    /// The call was interrupted or the caller died; nothing to answer.
    Gone,
}

/// Handle one notification from `listener`: `socks` are the forwarder's listeners.
pub fn handle(sys: &mut dyn NotifySys, listener: RawFd, socks: &[(RawFd, Publish)], registry: &Registry) -> Result<Outcome, BypassError> {
    let n = sys.recv(listener)?;
    let ports: Vec<Publish> = socks.iter().map(|(_, p)| p.clone()).collect();
    let cont = |sys: &mut dyn NotifySys| sys.respond(listener, n.id, 0, true).map(|_| Outcome::Continued);
    let len = n.data.args[2] as usize;
    if n.data.nr as u32 != SYS_BIND_X86_64 || !(2..=128).contains(&len) {
        return cont(sys);
    }
    let Ok(bytes) = sys.read_mem(n.pid, n.data.args[1], len) else { return cont(sys) };
    // The memory read is only meaningful if the caller is still blocked in this very call.
    if !sys.id_valid(listener, n.id) {
        return Ok(Outcome::Gone);
    }
    let Some(index) = published(parse_sockaddr(&bytes), &ports) else { return cont(sys) };
    let target = n.data.args[0] as i32;
    let info = match sys.socket_info(n.pid, target) {
        Ok(i) if replaceable(&i) => i,
        _ => return cont(sys),
    };
    let host = socks[index].0;
    // The forwarder stops accepting before the socket changes hands (and before its flags do).
    registry.add(host);
    let handed = sys.adopt(host, &info).and_then(|_| sys.add_fd(listener, n.id, host, target, info.cloexec));
    if let Err(e) = handed {
        registry.remove(host);
        let _ = sys.adopt(host, &SockInfo { nonblock: true, reuseaddr: true, reuseport: false, ..info });
        return if e.errno == libc::ENOENT { Ok(Outcome::Gone) } else { cont(sys) };
    }
    // (Answered or not — the caller may have died meanwhile — the socket is the container's
    // now: the session gives it back to the forwarder when the container is gone.)
    let _ = sys.respond(listener, n.id, 0, false);
    Ok(Outcome::Bypassed { index, pid: n.pid })
}

// ---------------------------------------------------------------------------------------
// The real calls.

pub struct RealNotify;

fn getsockopt_int(fd: RawFd, level: i32, opt: i32) -> Result<i32, BypassError> {
    let mut v: libc::c_int = 0;
    let mut len = 4u32;
    if unsafe { libc::getsockopt(fd, level, opt, &mut v as *mut _ as *mut libc::c_void, &mut len) } < 0 {
        return Err(os_err("getsockopt"));
    }
    Ok(v)
}

fn setsockopt_int(fd: RawFd, level: i32, opt: i32, v: i32) {
    unsafe { libc::setsockopt(fd, level, opt, &v as *const _ as *const libc::c_void, 4) };
}

impl NotifySys for RealNotify {
    fn recv(&mut self, listener: RawFd) -> Result<Notif, BypassError> {
        let mut n = Notif::default();
        if unsafe { libc::ioctl(listener, NOTIF_RECV as _, &mut n as *mut Notif) } < 0 {
            return Err(os_err("SECCOMP_IOCTL_NOTIF_RECV"));
        }
        Ok(n)
    }
    fn read_mem(&mut self, pid: u32, addr: u64, len: usize) -> Result<Vec<u8>, BypassError> {
        let mut buf = vec![0u8; len];
        let local = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: len };
        let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: len };
        let n = unsafe { libc::process_vm_readv(pid as i32, &local, 1, &remote, 1, 0) };
        if n < 0 {
            return Err(os_err("process_vm_readv"));
        }
        buf.truncate(n as usize);
        Ok(buf)
    }
    fn id_valid(&mut self, listener: RawFd, id: u64) -> bool {
        unsafe { libc::ioctl(listener, NOTIF_ID_VALID as _, &id as *const u64) == 0 }
    }
    fn socket_info(&mut self, pid: u32, fd: i32) -> Result<SockInfo, BypassError> {
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as i32, 0) } as RawFd;
        if pidfd < 0 {
            return Err(os_err("pidfd_open"));
        }
        let sock = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as RawFd;
        let e = os_err("pidfd_getfd");
        unsafe { libc::close(pidfd) };
        if sock < 0 {
            return Err(e);
        }
        let info = (|| -> Result<SockInfo, BypassError> {
            let domain = getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
            let fl = unsafe { libc::fcntl(sock, libc::F_GETFL) };
            // The fd flag (close-on-exec) is the container's, per descriptor: from fdinfo.
            let cloexec = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                .ok()
                .and_then(|t| t.lines().find_map(|l| l.strip_prefix("flags:").and_then(|v| i64::from_str_radix(v.trim(), 8).ok())))
                .map(|f| f & libc::O_CLOEXEC as i64 != 0)
                .unwrap_or(false);
            Ok(SockInfo {
                domain,
                ty: getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_TYPE)?,
                protocol: getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_PROTOCOL)?,
                nonblock: fl >= 0 && fl & libc::O_NONBLOCK != 0,
                cloexec,
                reuseaddr: getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_REUSEADDR)? != 0,
                reuseport: getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_REUSEPORT)? != 0,
                v6only: domain == libc::AF_INET6 && getsockopt_int(sock, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)? != 0,
            })
        })();
        unsafe { libc::close(sock) };
        info
    }
    fn adopt(&mut self, host: RawFd, like: &SockInfo) -> Result<(), BypassError> {
        let fl = unsafe { libc::fcntl(host, libc::F_GETFL) };
        if fl < 0 {
            return Err(os_err("fcntl"));
        }
        let want = if like.nonblock { fl | libc::O_NONBLOCK } else { fl & !libc::O_NONBLOCK };
        if unsafe { libc::fcntl(host, libc::F_SETFL, want) } < 0 {
            return Err(os_err("fcntl"));
        }
        // SO_REUSEADDR stays on (the forwarder bound with it); SO_REUSEPORT as the container asked.
        if like.reuseaddr {
            setsockopt_int(host, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
        }
        setsockopt_int(host, libc::SOL_SOCKET, libc::SO_REUSEPORT, like.reuseport as i32);
        Ok(())
    }
    fn add_fd(&mut self, listener: RawFd, id: u64, src: RawFd, target: i32, cloexec: bool) -> Result<(), BypassError> {
        let a = NotifAddFd { id, flags: SECCOMP_ADDFD_FLAG_SETFD, srcfd: src as u32, newfd: target as u32, newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 } };
        if unsafe { libc::ioctl(listener, NOTIF_ADDFD as _, &a as *const NotifAddFd) } < 0 {
            return Err(os_err("SECCOMP_IOCTL_NOTIF_ADDFD"));
        }
        Ok(())
    }
    fn respond(&mut self, listener: RawFd, id: u64, val: i64, continue_: bool) -> Result<(), BypassError> {
        let mut r = NotifResp { id, val, error: 0, flags: if continue_ { SECCOMP_USER_NOTIF_FLAG_CONTINUE } else { 0 } };
        if unsafe { libc::ioctl(listener, NOTIF_SEND as _, &mut r as *mut NotifResp) } < 0 {
            return Err(os_err("SECCOMP_IOCTL_NOTIF_SEND"));
        }
        Ok(())
    }
}
