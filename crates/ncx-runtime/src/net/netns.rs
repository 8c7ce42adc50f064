//! `ncx-runtime netns-init`: the per-user network namespace. A supervisor (`ncx-netns`, in
//! the host's namespaces) keeps a holder process (`ncx-netns-hold`) in the user namespace
//! whose network namespace it unshared, and slirp4netns attached to it (restarted when it
//! dies, at most 5 times a minute). The bridges of ncx's networks live in that namespace; it
//! outlives the user-namespace holder, so a restart of that holder does not cut the running
//! containers off.

use super::slirp::{start_slirp, Slirp};
use super::{pipe_cloexec, to_null, write_fd};
use crate::Args;
use ncx_core::rtnl;
use ncx_core::sys::cstr;
use ncx_core::userns;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

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
