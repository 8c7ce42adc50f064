//! slirp4netns: started on a network namespace and waited for until tap0 is configured
//! (`start_slirp`, for the per-user namespace's supervisor and for a container's own), and the
//! keeper (`ncx-slirp`) of a `--network slirp4netns` container's slirp4netns, which stops it
//! when the container's process exits.

use super::attach::NetSetup;
use super::{find_tool, pipe_cloexec, to_null, unblock_all, write_fd};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

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
pub(super) fn container_slirp(pid: i32, host_loopback: bool, early: Option<(RawFd, RawFd)>) -> Result<(), String> {
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

pub(super) struct Slirp {
    pub pid: i32,
}

/// Start slirp4netns on the holder's namespace; wait until tap0 is configured.
pub(super) fn start_slirp(slirp: &str, target: &[String], host_loopback: bool, exit_r: RawFd) -> Result<Slirp, String> {
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
