//! A relayed TCP connection: bytes move socket → pipe → socket with splice(2), never through
//! the relaying process's memory. Used by the published-port forwarder (net/forward.rs) and the
//! port bypass's reverse relay (bypass.rs).

use ncx_core::sys::errno;
use std::os::fd::RawFd;

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
