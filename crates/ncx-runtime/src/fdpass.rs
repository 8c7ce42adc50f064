//! Passing file descriptors between processes over a unix socket (SCM_RIGHTS): a pty
//! master from a container's PID 1 to its supervisor, a seccomp listener to the port
//! forwarder (bypass.rs), a terminal from an external runtime's console socket. Also the
//! child → parent message protocol of a container's setup (`receive`): over a SOCK_SEQPACKET
//! pair, `T` + a pty master, `R` (ready, at the OCI start gate), or `E` + a JSON error; EOF
//! means exec succeeded.

use ncx_core::sys::errno;
use std::os::fd::RawFd;

/// Read child messages until EOF: an optional pty master and an optional error.
pub(crate) fn receive(sock: RawFd) -> (Option<RawFd>, Option<(i32, String)>) {
    let mut master = None;
    loop {
        let mut buf = [0u8; 4096];
        let (n, fd) = recv_with_fd(sock, &mut buf);
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return (master, None);
        }
        match buf[0] {
            b'T' => {
                if fd.is_some() {
                    master = fd;
                }
            }
            // The OCI create's PID 1 is set up and waits at its gate.
            b'R' => return (master, None),
            b'E' => {
                let v: serde_json::Value = serde_json::from_slice(&buf[1..n as usize]).unwrap_or_default();
                let code = v["code"].as_i64().unwrap_or(125) as i32;
                let msg = v["message"].as_str().unwrap_or("container setup failed").to_string();
                return (master, Some((code, msg)));
            }
            _ => {}
        }
    }
}

/// One message from `sock` into `buf`, and the fd passed with it (SCM_RIGHTS), if any: the
/// counterpart of `send_fd`. The count is recvmsg's (≤ 0: EOF or an error, with no fd).
pub(crate) fn recv_with_fd(sock: RawFd, buf: &mut [u8]) -> (isize, Option<RawFd>) {
    let mut cmsg = [0u8; 64];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = cmsg.len() as _; // usize in glibc's msghdr, u32 in musl's
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n <= 0 {
        return (n, None);
    }
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if !c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS {
            Some(std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd))
        } else {
            None
        }
    };
    (n, fd)
}

pub(crate) fn send_fd(sock: RawFd, fd: RawFd) {
    unsafe {
        let mut byte = *b"T";
        let mut iov = libc::iovec { iov_base: byte.as_mut_ptr() as *mut libc::c_void, iov_len: 1 };
        let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
        let mut cbuf = vec![0u8; space];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
        libc::sendmsg(sock, &msg, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (RawFd, RawFd) {
        let mut p = [0 as RawFd; 2];
        assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, p.as_mut_ptr()) }, 0);
        (p[0], p[1])
    }

    fn send(sock: RawFd, msg: &[u8]) {
        assert_eq!(unsafe { libc::send(sock, msg.as_ptr() as *const libc::c_void, msg.len(), 0) }, msg.len() as isize);
    }

    #[test]
    fn a_descriptor_passed_is_a_new_close_on_exec_descriptor_of_the_same_file() {
        let (a, b) = pair();
        let mut p = [0 as RawFd; 2];
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        send_fd(a, p[1]);
        let mut buf = [0u8; 16];
        let (n, fd) = recv_with_fd(b, &mut buf);
        let fd = fd.expect("an fd came with the message");
        assert_eq!((n, buf[0]), (1, b'T'));
        assert_ne!(fd, p[1]);
        assert!(unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC != 0, "MSG_CMSG_CLOEXEC");
        // Written through the received copy, read from the original pipe.
        assert_eq!(unsafe { libc::write(fd, b"hi".as_ptr() as *const libc::c_void, 2) }, 2);
        let mut got = [0u8; 2];
        assert_eq!(unsafe { libc::read(p[0], got.as_mut_ptr() as *mut libc::c_void, 2) }, 2);
        assert_eq!(&got, b"hi");
        for f in [a, b, fd, p[0], p[1]] {
            unsafe { libc::close(f) };
        }
    }

    #[test]
    fn the_setup_messages_give_the_master_and_the_first_error() {
        let (a, b) = pair();
        let mut p = [0 as RawFd; 2];
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        send_fd(a, p[0]);
        send(a, b"E{\"code\":127,\"message\":\"exec: \\\"x\\\": executable file not found in $PATH\"}");
        let (master, error) = receive(b);
        assert!(master.is_some());
        assert_eq!(error, Some((127, "exec: \"x\": executable file not found in $PATH".to_string())));
        // EOF without an error: exec succeeded. `R`: ready at the OCI start gate.
        let (c, d) = pair();
        unsafe { libc::close(c) };
        assert_eq!(receive(d), (None, None));
        let (e, f) = pair();
        send(e, b"R");
        send(e, b"E{}");
        assert_eq!(receive(f), (None, None), "nothing after R is read");
        // A garbled error still fails the start, with 125.
        let (g, h) = pair();
        send(g, b"Enot json");
        assert_eq!(receive(h).1, Some((125, "container setup failed".to_string())));
        for fd in [a, b, d, e, f, g, h, p[0], p[1], master.unwrap()] {
            unsafe { libc::close(fd) };
        }
    }
}
