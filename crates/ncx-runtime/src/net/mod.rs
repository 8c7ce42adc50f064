//! Networking: the per-user network namespace and its slirp4netns (netns.rs), attaching a
//! container to bridges there or to its own slirp4netns (attach.rs, slirp.rs), running a
//! command in a network namespace (nsexec.rs), and the published-port forwarder (forward.rs,
//! with the splice relay of ../relay.rs). This file holds what they share: namespace entry, tool lookup, pipes.
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
//! inside the container's own namespace, to its address there). `--port-bypass 1` (both):
//! the container's own bind of a published TCP port gets the host's listening socket
//! (bypass.rs).

mod attach;
mod forward;
mod netns;
mod nsexec;
mod slirp;

pub use attach::{attach, attach_args, join_netns, net_attach, NetSetup};
pub use forward::{bind_ports, spawn_forwarder, Listeners};
pub(crate) use forward::sockaddr;
pub use netns::netns_init;
pub use nsexec::nsexec;

use ncx_core::sys::cstr;
use std::os::fd::RawFd;

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

/// Unblock every signal (a forked helper of a supervisor that blocked them).
fn unblock_all() {
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}
