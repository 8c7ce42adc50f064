//! `ncx-runtime nsexec`: run a command (ip, nft) inside a network namespace (the per-user
//! one, for the engine's bridge and firewall work), stdin and stdout passing through: the
//! engine cannot enter a namespace itself (Node is multithreaded).

use super::{find_tool, setns_path};
use crate::Args;
use ncx_core::userns;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// `nsexec`: join the user namespace (if any) and the network namespace, exec the command.
pub fn nsexec(args: &Args) -> i32 {
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            crate::fail(&e.to_string(), 125);
        }
    }
    if let Err(e) = setns_path(args.require("netns"), libc::CLONE_NEWNET) {
        crate::fail(&e, 125);
    }
    if args.words.is_empty() {
        crate::fail("nsexec: missing command", 125);
    }
    let e = Command::new(find_tool(&args.words[0])).args(&args.words[1..]).exec();
    crate::fail(&format!("{}: {e}", args.words[0]), 127)
}
