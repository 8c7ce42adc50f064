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
