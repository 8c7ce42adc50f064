//! `ncx-runtime run`'s parent side: the supervisor of a foreground container. In this order:
//! bind the published ports (host namespace), join the user namespace, start the forwarder,
//! create the namespaces the container shares with nothing (`unshare`), prepare its cgroup,
//! fork its PID 1 into them (run.rs `child` sets up its filesystem and execs), attach its
//! network while PID 1 waits at a gate, read its setup verdict, then supervise it to its exit
//! (supervise.rs) with the state file and the status-fd events the engine reads. Every call
//! goes through `Sys` (sys.rs), so the tests below check the order and each error path's
//! clean-up against a recording fake.

use crate::signals::supervised_signals;
use crate::status::Status;
use crate::supervise::Output;
use crate::sys::Sys;
use crate::Args;
use ncx_core::logfile::{parse_size, JsonLog};
use ncx_core::plan::RootfsMount;
use ncx_core::spec::Spec;
use ncx_core::state::{process_start, rfc3339_nano, State};
use std::io::Write;
use std::os::fd::RawFd;
use std::time::SystemTime;

/// `ncx-runtime run`: the bundle's container in the foreground (run.rs `child` is its PID 1).
pub fn main(args: &Args) -> i32 {
    if let Some(ext) = crate::external::from_args(args) {
        return crate::external::run_foreground(args, &ext);
    }
    let bundle = args.require("bundle").trim_end_matches('/').to_string();
    let status = Status { fd: args.get("status-fd").and_then(|s| s.parse().ok()) };
    let spec = match Spec::load(&format!("{bundle}/config.json")) {
        Ok(s) => s,
        Err(e) => {
            if status.fd.is_some() {
                status.send(serde_json::json!({ "event": "error", "code": 125, "message": e.to_string() }));
            } else {
                let _ = writeln!(std::io::stderr(), "ncx-runtime: {e}");
            }
            return 125;
        }
    };
    run(&mut crate::sys::RealSys, args, &status, &bundle, spec)
}

/// Report an error (a status-fd event, or a line on stderr) and return its exit code.
fn report(sys: &mut dyn Sys, status: &Status, code: i32, msg: String) -> i32 {
    if status.fd.is_some() {
        sys.status(status, serde_json::json!({ "event": "error", "code": code, "message": msg }));
    } else {
        sys.stderr(&format!("ncx-runtime: {msg}"));
    }
    code
}

/// Run the bundle's container in the foreground: its exit code (125 and a report when it
/// could not be started).
pub(crate) fn run(sys: &mut dyn Sys, args: &Args, status: &Status, bundle: &str, mut spec: Spec) -> i32 {
    let root = spec.root.clone().unwrap_or_default();
    let rootfs = if root.path.starts_with('/') { root.path.clone() } else { format!("{bundle}/{}", root.path) };
    let rootfs_mount = match args.get("rootfs-mount") {
        Some(t) => match RootfsMount::parse(t) {
            Some(m) => Some(m),
            None => return report(sys, status, 125, format!("invalid --rootfs-mount {t:?}: expected TYPE:DATA")),
        },
        None => None,
    };
    // Published ports: bound here, in the host's network namespace, before joining anything.
    let listeners = match sys.bind_ports(args) {
        Ok(l) => l,
        Err(e) => return report(sys, status, 125, e),
    };
    let attach = crate::net::attach_args(args).map(|n| sys.net_prefork(n));
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = sys.join_userns(pid) {
            return report(sys, status, 125, e);
        }
    }
    if let (Some(l), Some(a)) = (&listeners, &attach) {
        if let Err(e) = sys.spawn_forwarder(l, &a.forward_target(args)) {
            return report(sys, status, 125, e);
        }
        for (fd, _) in &l.socks {
            sys.close(*fd);
        }
    }
    // (a failed pipe gives -1s: the gate's read then fails and PID 1 gives up, as before)
    let gate = if attach.is_some() { Some(sys.pipe().unwrap_or((-1, -1))) } else { None };
    // The mount and cgroup namespaces are created by the child alone: the mounts vanish with
    // it, and its cgroup namespace is rooted at the cgroup it was cloned into.
    let mut flags = libc::CLONE_NEWPID;
    for (kind, flag) in [("uts", libc::CLONE_NEWUTS), ("ipc", libc::CLONE_NEWIPC), ("network", libc::CLONE_NEWNET)] {
        if spec.has_namespace(kind) {
            flags |= flag;
        }
    }
    if let Some(path) = args.get("net-join") {
        if let Err(e) = sys.join_netns(path) {
            return report(sys, status, 125, e);
        }
        flags &= !libc::CLONE_NEWNET;
    }
    match sys.shared_namespaces(&spec, args.get("ns-join")) {
        Ok(shared) => flags &= !shared,
        Err(e) => return report(sys, status, 125, e),
    }
    let own_userns = match sys.own_userns(&mut spec) {
        Ok(fd) => fd,
        Err(e) => return report(sys, status, 125, e),
    };
    if let Err(e) = sys.unshare(flags) {
        return report(sys, status, 125, format!("cannot create the container's namespaces: {}", std::io::Error::from_raw_os_error(e)));
    }
    let pair = match sys.socketpair() {
        Ok(p) => p,
        Err(e) => return report(sys, status, 125, format!("socketpair: {}", std::io::Error::from_raw_os_error(e))),
    };
    // The container's cgroup, limits written, before its first process exists (made last
    // before the clone, so no earlier failure leaves it behind).
    let placement = match sys.cgroup_prepare(&spec) {
        Ok(p) => p,
        Err(e) => return report(sys, status, 125, e),
    };
    // `--log-path`: the container's output is logged as well (json-file, as the monitor
    // does); without a terminal it goes through pipes this process relays.
    let mut output = match args.get("log-path") {
        Some(path) => {
            let size = match args.get("log-max-size").map(|s| (s, parse_size(s))) {
                Some((_, Some(n))) => n,
                Some((s, None)) => return report(sys, status, 125, format!("invalid --log-max-size {s:?}")),
                None => 0,
            };
            let files = args.get("log-max-file").and_then(|n| n.parse().ok()).unwrap_or(1);
            match JsonLog::open(path, size, files) {
                Ok(log) => Output::logged(log),
                Err(e) => return report(sys, status, 125, format!("cannot open the log {path}: {e}")),
            }
        }
        None => Output::default(),
    };
    let terminal = spec.process.as_ref().is_some_and(|p| p.terminal);
    let mut child_ends: [RawFd; 2] = [-1, -1];
    if output.log.is_some() && !terminal {
        for (stream, end) in child_ends.iter_mut().enumerate() {
            let (r, w) = match sys.pipe() {
                Ok(p) => p,
                Err(e) => return report(sys, status, 125, format!("pipe: {}", std::io::Error::from_raw_os_error(e))),
            };
            output.pipes[stream] = Some(r);
            *end = w;
        }
    }
    // Block the signals we handle before forking, so none is lost; the child unblocks them.
    let (set, old) = sys.block_signals(&supervised_signals());
    let no_stdin = args.has("--no-stdin");
    let pid = match sys.clone_into(0, placement.as_ref()) {
        Ok(pid) => pid,
        Err(e) => {
            if let Some(p) = placement {
                sys.cgroup_destroy(p);
            }
            return report(sys, status, 125, format!("cannot start the container's process: {}", std::io::Error::from_raw_os_error(e)));
        }
    };
    if pid == 0 {
        // The container's PID 1 (never with the tests' fake): real calls from here on.
        unsafe {
            libc::close(pair.0);
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        if let Some((_, gw)) = gate {
            unsafe { libc::close(gw) };
        }
        for (stream, end) in child_ends.iter().enumerate() {
            if *end >= 0 {
                // (dup2 clears close-on-exec on the copy; the pipes' own fds close at exec)
                unsafe { libc::dup2(*end, stream as RawFd + 1) };
            }
        }
        crate::run::child(&spec, &rootfs, rootfs_mount.as_ref(), pair.1, false, gate.map(|g| g.0), args.get("shm-from"));
    }
    sys.close(pair.1);
    for end in child_ends.into_iter().filter(|e| *e >= 0) {
        sys.close(end);
    }
    if let Some(fd) = own_userns {
        sys.close(fd);
    }
    if let (Some((gr, gw)), Some(a)) = (gate, &attach) {
        sys.close(gr);
        if let Err(e) = sys.net_attach(a, pid) {
            sys.close(gw);
            sys.close(pair.0);
            sys.kill(pid, libc::SIGKILL);
            sys.waitpid(pid);
            if let Some(p) = placement {
                sys.cgroup_destroy(p);
            }
            if let Some(dir) = args.get("cleanup") {
                let _ = sys.remove_dir_all(dir);
            }
            return report(sys, status, 125, e);
        }
        sys.write(gw, b"g");
        sys.close(gw);
    }
    let (master, error) = sys.receive(pair.0);
    sys.close(pair.0);
    if let Some((code, msg)) = error {
        sys.waitpid(pid);
        if let Some(p) = placement {
            sys.cgroup_destroy(p);
        }
        if let Some(dir) = args.get("cleanup") {
            let _ = sys.remove_dir_all(dir);
        }
        return report(sys, status, code, msg);
    }
    let ports = listeners.as_ref().map(|l| l.report()).unwrap_or(serde_json::Value::Array(vec![]));
    sys.status(status, serde_json::json!({ "event": "started", "pid": pid, "ports": ports }));
    // The state file makes a foreground container visible to `ps`, `exec`, `stop` (this
    // process plays the monitor's part).
    let state_path = args.get("state").map(str::to_string);
    let mut st = State {
        status: "running".into(),
        pid,
        monitor_pid: std::process::id() as i32,
        monitor_start: process_start(std::process::id() as i32).unwrap_or(0),
        started_at: rfc3339_nano(SystemTime::now()),
        ..Default::default()
    };
    if let Some(p) = &state_path {
        sys.write_state(p, &st);
    }
    let code = sys.supervise(pid, &set, master, no_stdin, &mut output);
    let oom_killed = placement.as_ref().map(|p| sys.cgroup_oom_killed(p)).unwrap_or(false);
    if let Some(w) = placement.and_then(|p| sys.cgroup_destroy(p)) {
        sys.status(status, serde_json::json!({ "event": "warning", "message": w }));
    }
    if let Some(p) = &state_path {
        st.status = "exited".into();
        st.pid = 0;
        st.exit_code = code;
        st.oom_killed = oom_killed;
        st.finished_at = rfc3339_nano(SystemTime::now());
        sys.write_state(p, &st);
    }
    sys.status(status, serde_json::json!({ "event": "exit", "code": code, "oomKilled": oom_killed }));
    if let Some(dir) = args.get("cleanup") {
        if let Err(e) = sys.remove_dir_all(dir) {
            sys.status(status, serde_json::json!({ "event": "warning", "message": format!("cannot remove {dir}: {e}") }));
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Listeners;
    use crate::sys::{args, RecordingSys};

    /// A spec with its own uts, ipc, network and pid namespaces (Docker's default).
    fn spec() -> Spec {
        serde_json::from_value(serde_json::json!({
            "root": { "path": "rootfs" },
            "process": { "args": ["true"] },
            "linux": { "namespaces": [{ "type": "pid" }, { "type": "uts" }, { "type": "ipc" }, { "type": "network" }, { "type": "mount" }] },
        }))
        .unwrap()
    }

    const STATUS: Status = Status { fd: Some(9) };

    fn run_with(sys: &mut RecordingSys, a: &Args) -> i32 {
        run(sys, a, &STATUS, "/b", spec())
    }

    fn listeners() -> Listeners {
        let p = ncx_core::net::parse_publish("tcp:0.0.0.0:8080:10.88.0.2:80").unwrap();
        Listeners { socks: vec![(7, p[0].clone())] }
    }

    #[test]
    fn the_happy_path_runs_in_order_and_reports_started_then_exit() {
        let mut sys = RecordingSys { exit: 3, ..RecordingSys::new() };
        let a = args(&[("bundle", "/b"), ("state", "/b/state.json"), ("userns-pid", "77")], &[]);
        assert_eq!(run_with(&mut sys, &a), 3);
        let order = ["bind_ports", "join_userns 77", "shared_namespaces", "own_userns", "unshare", "socketpair", "cgroup_prepare", "block_signals", "clone", "receive", "status {\"event\":\"started\"", "state /b/state.json running", "supervise 4242", "state /b/state.json exited 3", "status {\"code\":3,\"event\":\"exit\""];
        for w in order.windows(2) {
            assert!(sys.before(w[0], w[1]), "{} before {}: {:#?}", w[0], w[1], sys.calls);
        }
        assert_eq!(sys.event_names(), ["started", "exit"]);
        assert_eq!(sys.events[0]["pid"], 4242);
        assert_eq!(sys.events[1]["code"], 3);
        assert_eq!(sys.states[1].pid, 0, "the exited state has no pid");
        // The child's end of the message pair is closed by the parent, its own end after the verdict.
        assert!(sys.open.is_empty(), "descriptors left open: {:?}", sys.open);
    }

    #[test]
    fn the_namespaces_created_follow_the_spec_and_the_joins() {
        let mut sys = RecordingSys::new();
        run_with(&mut sys, &args(&[("bundle", "/b")], &[]));
        let all = libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;
        assert!(sys.called(&format!("unshare {all:#x}")), "{:#?}", sys.calls);
        // The mount and cgroup namespaces are the child's (plan), never the parent's unshare.
        assert!(sys.called("clone 0x0"));
        // --network container:X: its namespace is joined before the unshare, and none is made.
        let mut sys = RecordingSys::new();
        run_with(&mut sys, &args(&[("bundle", "/b"), ("net-join", "/proc/5/ns/net")], &[]));
        assert!(sys.before("join_netns /proc/5/ns/net", "unshare"));
        let no_net = libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
        assert!(sys.called(&format!("unshare {no_net:#x}")), "{:#?}", sys.calls);
        // --pid host: the spec lists no pid namespace.
        let mut sys = RecordingSys::new();
        let mut s = spec();
        s.linux.as_mut().unwrap().namespaces.retain(|n| n.kind != "pid");
        run(&mut sys, &args(&[("bundle", "/b")], &[]), &STATUS, "/b", s);
        let no_pid = libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;
        assert!(sys.called(&format!("unshare {no_pid:#x}")), "{:#?}", sys.calls);
    }

    #[test]
    fn published_ports_are_bound_before_the_user_namespace_is_joined_and_closed_once_forwarded() {
        let mut sys = RecordingSys { listeners: Some(listeners()), ..RecordingSys::new() };
        let a = args(&[("bundle", "/b"), ("userns-pid", "77"), ("net-netns", "/run/netns"), ("net-ifs", "eth0,ncx0,10.88.0.2/16,10.88.0.1,"), ("state", "/b/state.json")], &[]);
        assert_eq!(run_with(&mut sys, &a), 0);
        assert!(sys.before("bind_ports", "join_userns 77"), "the host's ports are bound in the host's namespaces");
        assert!(sys.before("join_userns 77", "spawn_forwarder state:/b/state.json"));
        assert!(sys.before("spawn_forwarder", "close 7"), "the listeners are the forwarder's alone");
        assert!(sys.before("close 7", "clone"), "the container never gets the listeners");
        assert_eq!(sys.events[0]["ports"][0]["hostPort"], 8080);
    }

    #[test]
    fn the_network_is_attached_while_pid_1_waits_at_its_gate() {
        let mut sys = RecordingSys::new();
        let a = args(&[("bundle", "/b"), ("net-netns", "/run/netns"), ("net-ifs", "eth0,ncx0,10.88.0.2/16,10.88.0.1,")], &[]);
        assert_eq!(run_with(&mut sys, &a), 0);
        // The gate pipe: 100 (read end, PID 1's) and 101; the message pair 102, 103.
        assert!(sys.before("pipe", "clone"));
        for w in [["clone", "close 100"], ["close 100", "net_attach 4242"], ["net_attach 4242", "write 101 g"], ["write 101 g", "close 101"], ["close 101", "receive 102"]] {
            assert!(sys.before(w[0], w[1]), "{} before {}: {:#?}", w[0], w[1], sys.calls);
        }
        assert!(sys.open.is_empty(), "{:?}", sys.open);
    }

    #[test]
    fn a_failed_attachment_kills_pid_1_and_undoes_everything() {
        let mut sys = RecordingSys { fail: vec![("net_attach".into(), libc::EPERM)], cgroup: Some("/sys/fs/cgroup/c1".into()), ..RecordingSys::new() };
        let a = args(&[("bundle", "/b"), ("net-netns", "/run/netns"), ("net-ifs", "eth0,ncx0,10.88.0.2/16,10.88.0.1,"), ("cleanup", "/b/tmp")], &[]);
        assert_eq!(run_with(&mut sys, &a), 125);
        for w in [["net_attach", "kill 4242 9"], ["kill 4242 9", "waitpid 4242"], ["waitpid 4242", "cgroup_destroy /sys/fs/cgroup/c1"], ["cgroup_destroy", "remove_dir_all /b/tmp"]] {
            assert!(sys.before(w[0], w[1]), "{} before {}: {:#?}", w[0], w[1], sys.calls);
        }
        assert!(!sys.called("write 101 g"), "the gate never opens");
        assert!(!sys.called("receive"));
        assert_eq!(sys.event_names(), ["error"]);
        assert_eq!(sys.events[0]["message"], "fake failure: net_attach 4242");
        assert!(sys.open.is_empty(), "{:?}", sys.open);
    }

    #[test]
    fn a_setup_error_of_pid_1_is_reported_with_its_code_and_cleaned_up() {
        let mut sys = RecordingSys { child_error: Some((127, "exec: \"nope\": executable file not found in $PATH".into())), cgroup: Some("/cg".into()), ..RecordingSys::new() };
        let a = args(&[("bundle", "/b"), ("cleanup", "/b/tmp"), ("state", "/b/state.json")], &[]);
        assert_eq!(run_with(&mut sys, &a), 127);
        assert!(sys.before("receive", "waitpid 4242"), "the failed PID 1 is reaped");
        assert!(sys.before("waitpid 4242", "cgroup_destroy /cg"));
        assert!(sys.called("remove_dir_all /b/tmp"));
        assert!(!sys.called("supervise") && !sys.called("state "), "no state: the container never ran");
        assert_eq!(sys.event_names(), ["error"]);
        assert_eq!(sys.events[0]["code"], 127);
    }

    #[test]
    fn failures_before_the_clone_create_nothing_to_undo() {
        for (step, errno) in [("bind_ports", 0), ("join_userns", 0), ("shared_namespaces", 0), ("own_userns", 0), ("unshare", libc::EPERM), ("socketpair", libc::EMFILE), ("cgroup_prepare", 0)] {
            let mut sys = RecordingSys { fail: vec![(step.into(), errno)], ..RecordingSys::new() };
            let code = run_with(&mut sys, &args(&[("bundle", "/b"), ("userns-pid", "77")], &[]));
            assert_eq!(code, 125, "{step}");
            assert!(!sys.called("clone"), "{step}: nothing is forked");
            assert!(!sys.called("cgroup_destroy"), "{step}");
            assert_eq!(sys.event_names(), ["error"], "{step}");
        }
        let mut sys = RecordingSys { fail: vec![("unshare".into(), libc::EPERM)], ..RecordingSys::new() };
        run_with(&mut sys, &args(&[("bundle", "/b")], &[]));
        let msg = sys.events[0]["message"].as_str().unwrap().to_string();
        assert!(msg.starts_with("cannot create the container's namespaces: Operation not permitted"), "{msg}");
    }

    #[test]
    fn a_failed_clone_removes_the_cgroup_made_for_it() {
        let mut sys = RecordingSys { fail: vec![("clone".into(), libc::EAGAIN)], cgroup: Some("/cg".into()), ..RecordingSys::new() };
        assert_eq!(run_with(&mut sys, &args(&[("bundle", "/b")], &[])), 125);
        assert!(sys.before("clone", "cgroup_destroy /cg"));
        assert!(sys.events[0]["message"].as_str().unwrap().starts_with("cannot start the container's process: Resource temporarily unavailable"));
    }

    #[test]
    fn bad_arguments_are_refused_before_any_syscall() {
        let mut sys = RecordingSys::new();
        assert_eq!(run_with(&mut sys, &args(&[("bundle", "/b"), ("rootfs-mount", "nocolon")], &[])), 125);
        assert!(sys.calls.iter().all(|c| c.starts_with("status")), "{:#?}", sys.calls);
        assert!(sys.events[0]["message"].as_str().unwrap().contains("invalid --rootfs-mount"));
    }

    #[test]
    fn without_a_status_fd_errors_go_to_stderr() {
        let mut sys = RecordingSys { fail: vec![("unshare".into(), libc::EPERM)], ..RecordingSys::new() };
        assert_eq!(run(&mut sys, &args(&[("bundle", "/b")], &[]), &Status { fd: None }, "/b", spec()), 125);
        assert!(sys.called("stderr ncx-runtime: cannot create the container's namespaces"), "{:#?}", sys.calls);
        assert!(sys.events.is_empty());
    }

    #[test]
    fn the_oom_verdict_and_a_cgroup_left_behind_are_reported_at_exit() {
        let mut sys = RecordingSys { cgroup: Some("/cg".into()), oom: true, exit: 137, fail: vec![("cgroup_destroy".into(), libc::EBUSY)], ..RecordingSys::new() };
        let a = args(&[("bundle", "/b"), ("state", "/s.json")], &[]);
        assert_eq!(run_with(&mut sys, &a), 137);
        assert!(sys.before("supervise", "cgroup_oom_killed /cg"));
        assert!(sys.before("cgroup_oom_killed", "cgroup_destroy /cg"));
        assert_eq!(sys.event_names(), ["started", "warning", "exit"]);
        assert_eq!(sys.events[2]["oomKilled"], true);
        assert!(sys.states[1].oom_killed && sys.states[1].exit_code == 137);
    }

    #[test]
    fn a_logged_run_without_a_terminal_relays_pipes_whose_child_ends_are_closed() {
        let dir = std::env::temp_dir().join(format!("ncx-fg-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("c.log");
        let mut sys = RecordingSys::new();
        let a = args(&[("bundle", "/b"), ("log-path", log.to_str().unwrap())], &["--no-stdin"]);
        assert_eq!(run_with(&mut sys, &a), 0);
        // socketpair 100/101, stdout pipe 102/103, stderr pipe 104/105: the write ends are the child's.
        assert!(sys.before("clone", "close 103") && sys.before("clone", "close 105"), "{:#?}", sys.calls);
        assert!(sys.called("supervise 4242 master=None no_stdin=true logged"));
        assert_eq!(sys.open, vec![102, 104], "the read ends stay with the supervisor (it closes them at EOF)");
        let bad = args(&[("bundle", "/b"), ("log-path", log.to_str().unwrap()), ("log-max-size", "lots")], &[]);
        let mut sys = RecordingSys::new();
        assert_eq!(run_with(&mut sys, &bad), 125);
        assert!(sys.events[0]["message"].as_str().unwrap().contains("invalid --log-max-size"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
