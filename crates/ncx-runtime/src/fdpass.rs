//! Passing file descriptors between processes over a unix socket (SCM_RIGHTS): a pty
//! master from a container's PID 1 to its supervisor, a seccomp listener to the port
//! forwarder (bypass.rs), a terminal from an external runtime's console socket. Also the
//! child → parent message protocol of a container's setup (`receive`): over a SOCK_SEQPACKET
//! pair, `T` + a pty master, `R` (ready, at the OCI start gate), or `E` + a JSON error; EOF
//! means exec succeeded.

use rustix::fd::{BorrowedFd, IntoRawFd};
use rustix::net::{recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::RawFd;

/// Read child messages until EOF: an optional pty master and an optional error.
pub(crate) fn receive(sock: RawFd) -> (Option<RawFd>, Option<(i32, String)>) {
    let mut master = None;
    loop {
        let mut buf = [0u8; 4096];
        let (n, fd) = match recv_with_fd(sock, &mut buf) {
            Err(libc::EINTR) => continue,
            Err(_) | Ok((0, _)) => return (master, None),
            Ok(got) => got,
        };
        match buf[0] {
            b'T' => {
                if fd.is_some() {
                    master = fd;
                }
            }
            // The OCI create's PID 1 is set up and waits at its gate.
            b'R' => return (master, None),
            b'E' => {
                let v: serde_json::Value = serde_json::from_slice(&buf[1..n.min(buf.len())]).unwrap_or_default();
                let code = v["code"].as_i64().unwrap_or(125) as i32;
                let msg = v["message"].as_str().unwrap_or("container setup failed").to_string();
                return (master, Some((code, msg)));
            }
            _ => {}
        }
    }
}

/// One message from `sock` into `buf`, and the fd passed with it (SCM_RIGHTS, received
/// close-on-exec), if any: the counterpart of `send_fd`. `Ok((0, None))` at EOF; an errno on
/// an error. (rustix's checked control-message buffers, no raw cmsghdr arithmetic.)
pub(crate) fn recv_with_fd(sock: RawFd, buf: &mut [u8]) -> Result<(usize, Option<RawFd>), i32> {
    // SAFETY: `sock` is open for the duration of the call (the caller's descriptor).
    let sock = unsafe { BorrowedFd::borrow_raw(sock) };
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut control, RecvFlags::CMSG_CLOEXEC).map_err(|e| e.raw_os_error())?;
    let mut fd = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for f in fds {
                // The first is ours; any other closes as it drops.
                if fd.is_none() {
                    fd = Some(f.into_raw_fd());
                }
            }
        }
    }
    Ok((got.bytes, fd))
}

/// Send `fd` (SCM_RIGHTS) with the one-byte message `T`.
pub(crate) fn send_fd(sock: RawFd, fd: RawFd) {
    // SAFETY: both are open for the duration of the call (the caller's descriptors).
    let (sock, fd) = unsafe { (BorrowedFd::borrow_raw(sock), BorrowedFd::borrow_raw(fd)) };
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [fd];
    control.push(SendAncillaryMessage::ScmRights(&fds));
    let _ = sendmsg(sock, &[IoSlice::new(b"T")], &mut control, SendFlags::empty());
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
        let (n, fd) = recv_with_fd(b, &mut buf).unwrap();
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
