//! `ncx-init -- CMD ARGS…`: the container's PID 1 for `ncx run --init` (as docker-init/tini).
//!
//! It starts CMD as its child, forwards every signal it receives to it (a PID 1 otherwise
//! ignores signals it has no handler for, so `docker stop` would wait for the timeout), reaps
//! every zombie re-parented to it, and exits with CMD's status (128+N when killed by signal
//! N). Built as a static binary, so it runs in any image, and bind-mounted read-only.

use std::ffi::CString;

fn fail(msg: &str) -> ! {
    let line = format!("ncx-init: {msg}\n");
    unsafe {
        libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
        libc::_exit(127)
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--") {
        args.remove(0);
    }
    if args.is_empty() {
        fail("usage: ncx-init -- COMMAND [ARG...]");
    }
    let argv: Vec<CString> = args.iter().map(|a| CString::new(a.as_bytes()).unwrap_or_default()).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    // Every signal but the synchronous faults is taken through sigwaitinfo (blocked signals
    // are never dropped, even for a namespace's init).
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        for s in [libc::SIGFPE, libc::SIGILL, libc::SIGSEGV, libc::SIGBUS, libc::SIGABRT, libc::SIGTRAP, libc::SIGSYS, libc::SIGTTIN, libc::SIGTTOU] {
            libc::sigdelset(&mut all, s);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
    }
    let child = unsafe { libc::fork() };
    if child < 0 {
        fail(&format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            // The command in the foreground of the terminal, if there is one.
            libc::setpgid(0, 0);
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(0, libc::getpid());
            libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            libc::execvp(argv_p[0], argv_p.as_ptr());
        }
        let e = std::io::Error::last_os_error();
        let code = if e.raw_os_error() == Some(libc::ENOENT) { 127 } else { 126 };
        let line = format!("ncx-init: exec {:?}: {e}\n", args[0]);
        unsafe {
            libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
            libc::_exit(code)
        }
    }
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let sig = unsafe { libc::sigwaitinfo(&all, &mut info) };
        if sig < 0 {
            continue;
        }
        if sig != libc::SIGCHLD {
            unsafe { libc::kill(child, sig) };
            continue;
        }
        loop {
            let mut st = 0;
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == child {
                let code = if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 128 + libc::WTERMSIG(st) };
                // The rest of the container dies with its init.
                unsafe { libc::_exit(code) };
            }
        }
    }
}
