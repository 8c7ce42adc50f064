//! ncx's N-API addon: thin `#[napi]` wrappers over the plain functions in
//! [`host`]. The only TypeScript module that loads it is `src/native/index.ts`,
//! which also declares the typed interface — keep the two in sync.
//!
//! The wrappers are compiled out under `cfg(test)` so `cargo test` links a
//! plain test binary without needing Node's N-API symbols; the logic is tested
//! in `host`.

pub mod host;
pub mod spawn;

#[cfg(not(test))]
mod addon {
    use super::host;
    use napi::{Error, Result};
    use napi_derive::napi;

    fn js_err(e: host::HostError) -> Error {
        Error::from_reason(e.to_string())
    }

    /// Opens (creating, 0644) and flock()s `path`, blocking until granted.
    /// Returns the fd holding the lock; release it with `unlockFile`.
    #[napi]
    pub fn lock_file(path: String, exclusive: bool) -> Result<i32> {
        match host::lock_file(&path, exclusive, true).map_err(js_err)? {
            Some(fd) => Ok(fd),
            // A blocking flock never reports "would block"; keep the match total.
            None => Err(Error::from_reason(format!("lock {path}: not granted"))),
        }
    }

    /// Like `lockFile` with LOCK_NB: `null` when another open file holds a conflicting lock.
    #[napi]
    pub fn try_lock_file(path: String, exclusive: bool) -> Result<Option<i32>> {
        host::lock_file(&path, exclusive, false).map_err(js_err)
    }

    /// Closes `fd`, releasing its lock.
    #[napi]
    pub fn unlock_file(fd: i32) -> Result<()> {
        host::unlock_file(fd).map_err(js_err)
    }

    /// statfs(2) f_type of `path` as a name ("overlayfs", "tmpfs", "extfs", ...) or "0x<hex>".
    #[napi]
    pub fn fs_type(path: String) -> Result<String> {
        host::fs_type(&path).map_err(js_err)
    }

    /// FS_TOPDIR_FL on the directory `path` (ext2/3/4 spread its subdirectories): true when
    /// set, false when the file system has no such flag.
    #[napi]
    pub fn mark_top_dir(path: String) -> Result<bool> {
        host::mark_top_dir(&path).map_err(js_err)
    }

    #[napi]
    pub fn isatty(fd: i32) -> bool {
        host::isatty(fd)
    }

    #[napi(object)]
    pub struct TerminalSize {
        pub columns: u32,
        pub rows: u32,
    }

    /// Start `program` (absolute path) with `args`: stdin /dev/null, stdout and stderr captured.
    /// Returns its pid for `finishProgram`.
    #[napi]
    pub fn start_program(program: String, args: Vec<String>) -> Result<i32> {
        super::spawn::start(&program, &args).map_err(|e| Error::from_reason(e.to_string()))
    }

    #[napi(object)]
    pub struct ProgramResult {
        /// The exit code; `null` when a signal ended the program.
        pub code: Option<i32>,
        pub signal: Option<i32>,
        pub stdout: String,
        pub stderr: String,
    }

    /// Collect the output of a program `startProgram` started and reap it (blocks).
    #[napi]
    pub fn finish_program(pid: i32) -> Result<ProgramResult> {
        let f = super::spawn::finish(pid).map_err(|e| Error::from_reason(e.to_string()))?;
        Ok(ProgramResult { code: f.code, signal: f.signal, stdout: String::from_utf8_lossy(&f.stdout).into_owned(), stderr: String::from_utf8_lossy(&f.stderr).into_owned() })
    }

    /// Send signal `signal` to `pid`, a container's process, through a pidfd: "sent", "gone"
    /// (it had exited), or "not-a-container" (it shares our mount namespace: a reused pid).
    #[napi]
    pub fn signal_container_process(pid: i32, signal: i32) -> Result<String> {
        Ok(match host::signal_container_process(pid, signal).map_err(js_err)? {
            host::Signalled::Sent => "sent",
            host::Signalled::Gone => "gone",
            host::Signalled::NotAContainer => "not-a-container",
        }
        .to_string())
    }

    #[napi(object)]
    pub struct ReportingProgram {
        pub pid: i32,
        /// The read end (close-on-exec) of the pipe that is the program's descriptor 3.
        pub status_fd: i32,
    }

    /// Start `program` (absolute path) with `args`: its descriptors 0-2 ours where `inherit`
    /// says so, else /dev/null, and its descriptor 3 a pipe to read from `statusFd`.
    #[napi]
    pub fn start_reporting_program(program: String, args: Vec<String>, inherit: Vec<bool>) -> Result<ReportingProgram> {
        let keep = |i: usize| inherit.get(i).copied().unwrap_or(false);
        let (pid, status_fd) = super::spawn::start_reporting(&program, &args, [keep(0), keep(1), keep(2)]).map_err(|e| Error::from_reason(e.to_string()))?;
        Ok(ReportingProgram { pid, status_fd })
    }

    #[napi(object)]
    pub struct ProgramExit {
        /// The exit code; `null` when a signal ended the program.
        pub code: Option<i32>,
        pub signal: Option<i32>,
    }

    /// Reap a program `startReportingProgram` started (blocks until it has exited).
    #[napi]
    pub fn reap_program(pid: i32) -> Result<ProgramExit> {
        let (code, signal) = super::spawn::reap(pid).map_err(|e| Error::from_reason(e.to_string()))?;
        Ok(ProgramExit { code, signal })
    }

    /// TIOCGWINSZ on `fd`; `null` when it is not a terminal.
    #[napi]
    pub fn terminal_size(fd: i32) -> Option<TerminalSize> {
        host::terminal_size(fd).map(|(columns, rows)| TerminalSize { columns: columns.into(), rows: rows.into() })
    }
}
