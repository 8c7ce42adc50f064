//! `--status-fd N`: the JSON lines a foreground command (`run`, `exec`, `attach`, an
//! external runtime's `run`) reports to the engine on: `started`, `exit`, `warning`, `error`.
//! Without the flag nothing is written.

use std::os::fd::RawFd;

/// Where the status lines go (None: nowhere).
pub(crate) struct Status {
    pub fd: Option<RawFd>,
}

impl Status {
    pub fn send(&self, v: serde_json::Value) {
        if let Some(fd) = self.fd {
            let line = format!("{v}\n");
            unsafe { libc::write(fd, line.as_ptr() as *const libc::c_void, line.len()) };
        }
    }
}
