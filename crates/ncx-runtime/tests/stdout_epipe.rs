//! `ncx-runtime features | head`: a reader that goes away ends the runtime as SIGPIPE ends
//! other command-line tools, quietly, instead of a panic from `println!` on EPIPE.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// A pipe whose read end is already closed: the first write to it fails with EPIPE.
fn broken_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe { libc::close(fds[0]) };
    unsafe { OwnedFd::from_raw_fd(fds[1]) }
}

fn run_into_broken_pipe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ncx-runtime"))
        .args(args)
        .stdout(Stdio::from(broken_pipe()))
        .stderr(Stdio::piped())
        .output()
        .expect("run ncx-runtime")
}

#[test]
fn features_into_a_closed_pipe_dies_of_sigpipe_quietly() {
    let out = run_into_broken_pipe(&["features"]);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "status {:?}, stderr {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn list_and_version_into_a_closed_pipe_die_of_sigpipe_quietly() {
    let root = std::env::temp_dir().join(format!("ncx-rt-epipe-{}", std::process::id()));
    for args in [vec!["--root", root.to_str().unwrap(), "list"], vec!["--version"]] {
        let out = run_into_broken_pipe(&args);
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{args:?}: status {:?}, stderr {}", out.status, String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn features_into_an_open_pipe_still_prints_the_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_ncx-runtime")).arg("features").output().expect("run ncx-runtime");
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("features is JSON");
    assert!(doc.get("ociVersionMax").is_some(), "{doc}");
}
