//! The monitor's unit tests: its config, a container's start through the recording Sys
//! (sys.rs), the restart policy and health scheduling of the event loop.

use super::event_loop::Monitor;
use super::health::*;
use super::start::*;
use super::*;
use crate::sys::{args, RecordingSys};
use ncx_core::state::HEALTH_OUTPUT_MAX;

/// A bundle directory with a config.json (removed on drop).
struct Bundle(std::path::PathBuf);

impl Bundle {
    fn new(name: &str, terminal: bool) -> Bundle {
        let dir = std::env::temp_dir().join(format!("ncx-monitor-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let spec = serde_json::json!({
            "root": { "path": "rootfs" },
            "process": { "args": ["sleep", "1"], "terminal": terminal },
            "linux": { "namespaces": [{ "type": "pid" }, { "type": "uts" }, { "type": "ipc" }, { "type": "network" }, { "type": "mount" }] },
        });
        std::fs::write(dir.join("config.json"), spec.to_string()).unwrap();
        Bundle(dir)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
    fn config(&self, extra: &[(&str, &str)], flags: &[&str]) -> Config {
        let mut pairs = vec![("bundle", self.path())];
        pairs.extend_from_slice(extra);
        parse_config(&args(&pairs, flags)).unwrap()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_command_line_becomes_the_monitors_config() {
    let b = Bundle::new("config", false);
    let cfg = b.config(&[("restart", "on-failure:3"), ("log-path", "/l/c.log"), ("log-max-size", "10k"), ("log-max-file", "2"), ("health-cmd", r#"["CMD","true"]"#), ("health-interval-ms", "5")], &["--stdin-open", "--cleanup-bundle"]);
    assert_eq!(cfg.rootfs, format!("{}/rootfs", b.path()), "a relative root is the bundle's");
    assert_eq!(cfg.policy, RestartPolicy::OnFailure(3));
    assert_eq!(cfg.log, Some(("/l/c.log".to_string(), 10 * 1024, 2)));
    assert!(cfg.stdin_open && cfg.cleanup && !cfg.stdin_once && !cfg.attach_wait);
    let h = cfg.health.unwrap();
    assert_eq!(h.test, ["CMD", "true"]);
    assert_eq!(h.interval, Duration::from_millis(10), "an interval is at least 10 ms");
    assert_eq!((h.timeout, h.retries), (Duration::from_secs(30), 3), "Docker's defaults");
    for (k, v, why) in [("restart", "sometimes", "invalid restart policy"), ("log-max-size", "big", "invalid --log-max-size"), ("health-cmd", "true", "invalid --health-cmd"), ("rootfs-mount", "x", "invalid --rootfs-mount")] {
        let mut pairs = vec![("bundle", b.path()), (k, v)];
        if k == "log-max-size" {
            pairs.push(("log-path", "/l"));
        }
        let e = parse_config(&args(&pairs, &[])).err().unwrap();
        assert!(e.message.contains(why) && e.code == 125, "{k}: {}", e.message);
    }
}

#[test]
fn a_container_starts_with_pipes_whose_child_ends_are_closed() {
    let b = Bundle::new("start", false);
    let cfg = b.config(&[], &["--stdin-open"]);
    let mut sys = RecordingSys::new();
    let r = start_with(&mut sys, &cfg).unwrap();
    // socketpair 100/101; stdout 102/103, stderr 104/105, stdin 106/107; /dev/null 108.
    let all = libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWNET;
    assert!(sys.called(&format!("clone {all:#x}")), "{:#?}", sys.calls);
    for theirs in ["close 101", "close 108", "close 103", "close 105", "close 106"] {
        assert!(sys.before("clone", theirs), "{theirs}: {:#?}", sys.calls);
    }
    assert!(sys.before("close 103", "receive 100") && sys.before("receive 100", "close 100"));
    assert_eq!((r.pid, r.out, r.err, r.stdin, r.tty), (4242, Some(102), Some(104), Some(107), false));
    assert!(sys.called("nonblock 102") && sys.called("nonblock 104"));
    let mut left = sys.open.clone();
    left.sort();
    assert_eq!(left, [102, 104, 107], "the monitor keeps its ends, nothing else");
}

#[test]
fn with_a_terminal_the_output_is_the_pty_master() {
    let b = Bundle::new("tty", true);
    let cfg = b.config(&[], &["--stdin-open"]);
    let mut sys = RecordingSys { master: Some(55), ..RecordingSys::new() };
    let r = start_with(&mut sys, &cfg).unwrap();
    assert_eq!((r.out, r.err, r.stdin, r.tty), (Some(55), None, None, true));
    assert!(!sys.called("pipe"), "no pipes with a terminal: {:#?}", sys.calls);
    assert!(sys.called("nonblock 55"));
}

#[test]
fn every_failed_start_closes_what_it_opened() {
    let b = Bundle::new("fail", false);
    let mut cfg = b.config(&[("net-netns", "/n"), ("net-ifs", "eth0,ncx0,10.88.0.2/16,10.88.0.1,")], &["--stdin-open"]);
    cfg.net_join = None;
    for (step, errno) in [("socketpair", libc::EMFILE), ("pipe", libc::EMFILE), ("clone", libc::ENOMEM), ("net_attach", 0), ("shared_namespaces", 0)] {
        let mut sys = RecordingSys { fail: vec![(step.into(), errno)], ..RecordingSys::new() };
        let e = start_with(&mut sys, &cfg).err().unwrap();
        assert_eq!(e.code, 125, "{step}");
        assert!(sys.open.is_empty(), "{step}: left open {:?}", sys.open);
    }
    let mut sys = RecordingSys { fail: vec![("net_attach".into(), 0)], ..RecordingSys::new() };
    start_with(&mut sys, &cfg).err().unwrap();
    assert!(sys.before("net_attach", "kill 4242 9") && sys.before("kill 4242 9", "waitpid 4242"), "{:#?}", sys.calls);
    assert!(!sys.called("receive"));
    let mut sys = RecordingSys { fail: vec![("clone".into(), libc::ENOMEM)], ..RecordingSys::new() };
    let e = start_with(&mut sys, &cfg).err().unwrap();
    assert_eq!(e.message, "cannot create the container's namespaces: Cannot allocate memory (os error 12)");
}

#[test]
fn a_setup_error_keeps_its_code_and_reaps_pid_1() {
    let b = Bundle::new("setup", true);
    let cfg = b.config(&[], &[]);
    let mut sys = RecordingSys { master: Some(300), child_error: Some((126, "exec: \"/x\": permission denied".into())), ..RecordingSys::new() };
    let e = start_with(&mut sys, &cfg).err().unwrap();
    assert_eq!(e.code, 126);
    assert!(sys.before("receive", "waitpid 4242"));
    assert!(sys.called("close 300"), "the pty master it sent goes too");
    assert!(sys.open.is_empty(), "{:?}", sys.open);
}

#[test]
fn a_net_join_moves_the_monitor_and_keeps_the_network_namespace() {
    let b = Bundle::new("netjoin", false);
    let cfg = b.config(&[("net-join", "/proc/9/ns/net")], &[]);
    let mut sys = RecordingSys::new();
    start_with(&mut sys, &cfg).unwrap();
    assert!(sys.before("join_netns /proc/9/ns/net", "clone"));
    let flags = libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
    assert!(sys.called(&format!("clone {flags:#x}")), "{:#?}", sys.calls);
    let mut sys = RecordingSys { fail: vec![("join_netns".into(), 0)], ..RecordingSys::new() };
    assert!(start_with(&mut sys, &cfg).is_err());
    assert!(!sys.called("clone") && !sys.called("socketpair"));
}

fn monitor(b: &Bundle, restart: &str) -> Monitor {
    let cfg = b.config(&[("restart", restart)], &[]);
    Monitor::new(cfg, State::default(), format!("{}/state.json", b.path()), None)
}

fn running(pid: i32) -> Running {
    Running { pid, out: None, err: None, stdin: None, tty: false, started: Instant::now() }
}

#[test]
fn an_exit_under_a_restart_policy_schedules_a_restart_with_backoff() {
    let b = Bundle::new("restart", false);
    let mut m = monitor(&b, "on-failure:2");
    m.on_started(running(10));
    assert_eq!(State::read(&m.state_path).unwrap().status, "running");
    m.on_exit(1);
    assert_eq!(m.state.status, "restarting");
    assert!(m.restart_at.is_some() && m.consecutive == 1 && !m.done());
    assert_eq!(State::read(&m.state_path).unwrap().exit_code, 1, "the state file says so");
    // A clean exit is not a failure: no restart under on-failure.
    let mut m = monitor(&b, "on-failure:2");
    m.on_started(running(11));
    m.on_exit(0);
    assert_eq!(m.state.status, "exited");
    assert!(m.done());
}

#[test]
fn a_stop_by_the_user_or_a_new_policy_wins_over_the_old_policy() {
    let b = Bundle::new("stopped", false);
    let mut m = monitor(&b, "always");
    m.on_started(running(10));
    std::fs::write(format!("{}/stopping", b.path()), "").unwrap();
    m.on_exit(143);
    assert_eq!(m.state.status, "exited", "`stop` leaves a file: no restart");
    std::fs::remove_file(format!("{}/stopping", b.path())).unwrap();
    let mut m = monitor(&b, "always");
    m.on_started(running(12));
    std::fs::write(format!("{}/{RESTART_POLICY_FILE}", b.path()), "no\n").unwrap();
    m.on_exit(1);
    assert_eq!((m.state.status.as_str(), m.cfg.policy), ("exited", RestartPolicy::No), "`update --restart no` while it ran");
}

#[test]
fn a_health_checked_container_starts_in_starting_and_schedules_its_first_probe() {
    let b = Bundle::new("health", false);
    let mut m = monitor(&b, "no");
    m.cfg.health = Some(HealthConfig { test: vec!["CMD".into(), "true".into()], interval: Duration::from_secs(30), timeout: Duration::from_secs(1), retries: 3, start_period: Duration::from_secs(60), start_interval: Duration::from_secs(2) });
    m.on_started(running(10));
    assert_eq!(m.state.health.as_ref().unwrap().status, "starting");
    let first = m.next_probe.unwrap().saturating_duration_since(Instant::now());
    assert!(first <= Duration::from_secs(2), "the start interval first, not the 30 s interval: {first:?}");
    assert!(m.poll_timeout() <= 2001);
    m.on_exit(0);
    assert!(m.next_probe.is_none(), "no probe of an exited container");
}

#[test]
fn durations_read_as_go_prints_them_and_probe_output_is_capped() {
    assert_eq!(go_duration(Duration::from_secs(30)), "30s");
    assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
    let mut p = [0 as RawFd; 2];
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }, 0);
    let big = vec![b'x'; HEALTH_OUTPUT_MAX + 100];
    let mut buf = Vec::new();
    let mut written = 0;
    while written < big.len() {
        let n = unsafe { libc::write(p[1], big[written..].as_ptr() as *const libc::c_void, big.len() - written) };
        assert!(n > 0);
        written += n as usize;
        assert!(read_capped(p[0], &mut buf), "open, nothing more yet");
    }
    unsafe { libc::close(p[1]) };
    assert!(!read_capped(p[0], &mut buf), "EOF");
    assert_eq!(buf.len(), HEALTH_OUTPUT_MAX);
    unsafe { libc::close(p[0]) };
}

#[test]
fn a_removed_bundle_is_gone_under_its_name_at_once() {
    let b = Bundle::new("rm", false);
    std::fs::create_dir_all(b.0.join("rootfs/etc")).unwrap();
    remove_bundle(b.path());
    assert!(!b.0.exists());
    let doomed = b.0.parent().unwrap().join(format!(".rm-{}", b.0.file_name().unwrap().to_string_lossy()));
    assert!(!doomed.exists(), "the renamed copy is deleted too");
}

#[test]
fn start_interval_only_while_starting_in_the_start_period() {
    let secs = Duration::from_secs;
    let h = HealthConfig { test: vec![], interval: secs(30), timeout: secs(30), retries: 3, start_period: secs(60), start_interval: secs(2) };
    assert_eq!(probe_interval(&h, true, Some(secs(10))), secs(2));
    assert_eq!(probe_interval(&h, false, Some(secs(10))), secs(30)); // healthy already
    assert_eq!(probe_interval(&h, true, Some(secs(61))), secs(30)); // start period over
    assert_eq!(probe_interval(&h, true, None), secs(30));
    let plain = HealthConfig { start_interval: Duration::ZERO, ..h };
    assert_eq!(probe_interval(&plain, true, Some(secs(10))), secs(30));
}

#[test]
fn attached_clients_learn_the_exit_after_the_state_says_so() {
    // A client whose socket is full: the monitor's EXIT waits for it to read. What the state
    // file says while the client has not read yet is what a `rm` right after `start -a` sees.
    let b = Bundle::new("exit-order", false);
    let mut m = monitor(&b, "no");
    m.on_started(running(10));
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) }, 0);
    let filler = [0u8; 4096];
    while unsafe { libc::send(fds[0], filler.as_ptr() as *const libc::c_void, filler.len(), libc::MSG_DONTWAIT) } > 0 {}
    m.clients.push(fds[0]);
    let state_path = m.state_path.clone();
    let peer = fds[1];
    let client = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let seen = State::read(&state_path).unwrap().status;
        let mut buf = [0u8; 8192];
        while unsafe { libc::recv(peer, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) } > 0 {}
        unsafe { libc::close(peer) };
        seen
    });
    m.on_exit(0);
    assert_eq!(client.join().unwrap(), "exited", "the state was saved before the client was told");
}
