//! The signals a supervisor takes through a signalfd: blocked before the container is
//! forked (so none is lost), read in its poll loop, and forwarded to the container.

pub(crate) const FORWARDED: [libc::c_int; 7] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGCONT];

/// What a foreground supervisor reads from its signalfd: the forwarded signals, SIGCHLD, SIGWINCH.
pub(crate) fn supervised_signals() -> Vec<libc::c_int> {
    FORWARDED.iter().copied().chain([libc::SIGCHLD, libc::SIGWINCH]).collect()
}

/// Block `signals` (to be read from a signalfd); returns the set and the previous mask.
pub(crate) fn block_signals(signals: &[libc::c_int]) -> (libc::sigset_t, libc::sigset_t) {
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
    }
    (set, old)
}
