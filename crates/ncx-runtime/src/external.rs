//! `--oci-runtime PATH`: the container's process made by another OCI runtime (runc, crun,
//! youki, …) through the standard command line, with ncx's monitor (or foreground
//! supervisor) around it, as podman drives crun/runc through conmon.
//!
//!   … run|monitor --bundle DIR --oci-runtime PATH --oci-root DIR [--oci-runtime-name NAME]
//!
//! The caller is root in the held user namespace (as rootless Docker's runc is in
//! RootlessKit's). What ncx's own runtime does in its child, the external one does from
//! `BUNDLE/oci/config.json`: a copy of the bundle's config with the rootfs as an absolute path
//! and the namespaces to join (`--net-join`, `--ns-join`) as paths. The overlay rootfs is
//! mounted in a mount namespace of the runtime's own, which the container's is copied from.
//! `create` runs up to the runtime's sync point; then the network is attached to the
//! container's pid (its network namespace exists, its process has not started), then `start`.
//! The container's process is reparented to the caller (a child subreaper) when `create`
//! exits, so it is reaped as ncx's own; `delete --force` clears the runtime's state after.

use crate::net::NetSetup;
use crate::Args;
use ncx_core::plan::RootfsMount;
use serde_json::Value;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// An external OCI runtime and where its state lives.
pub struct External {
    pub path: String,
    pub name: String,
    /// The runtime's `--root` (its state directories, one per container).
    pub root: String,
    /// The container's id for the runtime (the bundle's directory name: ncx's container id).
    pub id: String,
    /// The bundle the runtime is given: `BUNDLE/oci`.
    pub bundle: String,
}

/// What `start` needs besides the runtime.
pub struct Launch<'a> {
    pub spec_file: &'a str,
    pub rootfs: &'a str,
    pub rootfs_mount: Option<&'a RootfsMount>,
    /// The container's stdin, stdout and stderr (ignored with a terminal).
    pub stdio: [RawFd; 3],
    pub terminal: bool,
    pub net_join: Option<&'a str>,
    pub ns_join: Option<&'a str>,
    pub attach: Option<&'a NetSetup>,
}

/// The container's process, once `start` returned.
pub struct Started {
    pub pid: i32,
    /// The pty master (with a terminal), sent by the runtime over the console socket.
    pub master: Option<RawFd>,
}

/// Why the container could not be started: an exit code (Docker's) and a message.
pub type Failure = (i32, String);

/// statfs's f_type of a cgroup v2 mount (compared as i64: f_type is signed on glibc, unsigned on musl).
const CGROUP2_SUPER_MAGIC: libc::c_long = 0x6367_7270;

/// How long `create` may take before ncx gives up on the runtime.
const CREATE_TIMEOUT: Duration = Duration::from_secs(60);

pub fn from_args(args: &Args) -> Option<External> {
    let path = args.get("oci-runtime")?.to_string();
    let bundle = args.require("bundle").trim_end_matches('/').to_string();
    let id = bundle.rsplit('/').next().unwrap_or("container").to_string();
    let name = args.get("oci-runtime-name").map(str::to_string).unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).to_string());
    Some(External { path, name, root: args.require("oci-root").to_string(), id, bundle: format!("{bundle}/oci") })
}

/// Docker's exit code for a runtime's failure to start the container's command, from the
/// runtime's message as Docker's daemon reads it: 127 not found, 126 not executable, else 125.
pub fn start_failure_code(message: &str) -> i32 {
    let m = message.to_lowercase();
    if m.contains("executable file not found") || m.contains("not found in $path") || m.contains("no such file or directory") {
        127
    } else if m.contains("permission denied") || m.contains("does not have correct permissions") {
        126
    } else {
        125
    }
}

/// The message of the last error line of a runtime's JSON log.
fn last_logged_error(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["level"].as_str().is_some_and(|l| l.eq_ignore_ascii_case("error")))
        .and_then(|v| v["msg"].as_str().or(v["message"].as_str()).map(str::to_string))
}

/// Whether the config makes a new network namespace (one without a path to join).
fn makes_netns(spec: &Value) -> bool {
    spec["linux"]["namespaces"].as_array().is_some_and(|l| l.iter().any(|n| n["type"] == "network" && n["path"].as_str().is_none_or(str::is_empty)))
}

/// Bring up the loopback interface of process `pid`'s network namespace (from a child that
/// enters it, so this process stays in its own).
fn loopback_up(pid: i32) -> Result<(), String> {
    let ns = ncx_core::sys::cstr(&format!("/proc/{pid}/ns/net"));
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        unsafe {
            let fd = libc::open(ns.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            let code = if fd < 0 || libc::setns(fd, libc::CLONE_NEWNET) < 0 {
                1
            } else {
                match ncx_core::rtnl::set_up("lo") {
                    Ok(()) => 0,
                    Err(_) => 2,
                }
            };
            libc::_exit(code);
        }
    }
    match crate::supervise::exit_code(wait(child)) {
        0 => Ok(()),
        1 => Err(format!("cannot enter the network namespace of the container's process {pid}")),
        _ => Err("cannot bring up the container's loopback interface".into()),
    }
}

/// The OCI namespace type of a `--ns-join` kind (nsenter's names).
fn oci_kind(kind: &str) -> &str {
    match kind {
        "net" => "network",
        "mnt" => "mount",
        other => other,
    }
}

/// The external runtime's config.json: the bundle's, with the rootfs absolute (the runtime is
/// given another bundle directory) and the namespaces the container shares with another
/// container as paths to join. `"noNewPrivileges": false` is left out (the spec's default, so
/// the same for every runtime): youki 0.7 takes any value there as its cue to load the seccomp
/// filter after dropping capabilities, which without no_new_privs the kernel refuses (EACCES,
/// "failed to load seccomp context"); absent, it loads the filter while it still may.
pub fn adapt_config(mut spec: Value, rootfs: &str, net_join: Option<&str>, ns_join: Option<&str>) -> Value {
    spec["root"]["path"] = Value::String(rootfs.to_string());
    if let Some(process) = spec["process"].as_object_mut() {
        if process.get("noNewPrivileges") == Some(&Value::Bool(false)) {
            process.remove("noNewPrivileges");
        }
    }
    let mut joins: Vec<(String, String)> = Vec::new();
    if let Some(p) = net_join {
        joins.push(("network".into(), p.into()));
    }
    for item in ns_join.unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        if let Some((kind, path)) = item.split_once('=') {
            joins.push((oci_kind(kind).into(), path.into()));
        }
    }
    if !joins.is_empty() {
        if !spec["linux"]["namespaces"].is_array() {
            spec["linux"]["namespaces"] = Value::Array(Vec::new());
        }
        let list = spec["linux"]["namespaces"].as_array_mut().expect("an array");
        for (kind, path) in joins {
            list.retain(|n| n["type"] != kind.as_str());
            list.push(serde_json::json!({ "type": kind, "path": path }));
        }
    }
    spec
}

impl External {
    /// Whether this is `runtime` (by the name it was given or its binary's name).
    fn is(&self, runtime: &str) -> bool {
        self.name.starts_with(runtime) || self.path.rsplit('/').next().is_some_and(|b| b.starts_with(runtime))
    }

    fn is_crun(&self) -> bool {
        self.is("crun")
    }

    /// youki: every command in a mount namespace where the host's hybrid cgroups look like a
    /// cgroup v2 host (see `spawn`).
    fn is_youki(&self) -> bool {
        self.is("youki")
    }

    fn log_file(&self) -> String {
        format!("{}/runtime.log", self.bundle)
    }

    /// The runtime's global options: its state root and a log ncx reads errors from; crun's
    /// cgroup handling off (ncx places nothing in cgroups for it: rootless hosts without
    /// delegation have none to give, and crun refuses hybrid cgroup hosts otherwise).
    fn command(&self, words: &[&str]) -> Vec<String> {
        let mut argv = vec![self.path.clone(), "--root".into(), self.root.clone(), "--log".into(), self.log_file(), "--log-format".into(), "json".into()];
        if self.is_crun() {
            argv.push("--cgroup-manager=disabled".into());
        }
        argv.extend(words.iter().map(|w| w.to_string()));
        argv
    }

    /// The last error the runtime logged (runc and crun log JSON lines with `"level":"error"`
    /// and `msg`, youki with `"level":"ERROR"` and `message`).
    fn logged_error(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.log_file()).ok()?;
        last_logged_error(&text)
    }

    fn failed(&self, what: &str, status: i32) -> Failure {
        let why = self.logged_error().unwrap_or_else(|| format!("exit status {}", crate::supervise::exit_code(status)));
        // (runc's own messages start with "runc create failed: …")
        let message = if why.starts_with(&self.name) { why } else { format!("{} {what}: {why}", self.name) };
        (start_failure_code(&message), message)
    }

    /// Run `runtime WORDS…` to completion with stdio on /dev/null; its wait status.
    fn run_quietly(&self, words: &[&str]) -> Result<i32, String> {
        let null = open_null();
        let pid = self.spawn(&self.command(words), [null, null, null], None);
        unsafe { libc::close(null) };
        if pid < 0 {
            return Err(format!("cannot run {}: {}", self.path, std::io::Error::last_os_error()));
        }
        Ok(wait(pid))
    }

    /// Fork and exec the runtime (signals unblocked, the given stdio); with `create`, in a
    /// mount namespace of its own where the container's rootfs is mounted (when it is one).
    fn spawn(&self, argv: &[String], stdio: [RawFd; 3], create: Option<(&str, Option<&RootfsMount>)>) -> i32 {
        let c_argv: Vec<std::ffi::CString> = argv.iter().map(|a| ncx_core::sys::cstr(a)).collect();
        let mut ptrs: Vec<*const libc::c_char> = c_argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let private = create.is_some() || self.is_youki();
        let mount = create.and_then(|(dir, m)| m.map(|m| (ncx_core::sys::cstr(dir), ncx_core::sys::cstr(&m.fstype), ncx_core::sys::cstr(&m.source), ncx_core::sys::cstr(&m.data))));
        let pid = unsafe { libc::fork() };
        if pid != 0 {
            return pid;
        }
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for (fd, target) in stdio.iter().zip(0..3) {
                if *fd != target {
                    libc::dup2(*fd, target);
                } else {
                    libc::fcntl(target, libc::F_SETFD, 0);
                }
            }
            if private
                && (libc::unshare(libc::CLONE_NEWNS) < 0
                    || libc::mount(std::ptr::null(), c"/".as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_SLAVE, std::ptr::null()) < 0)
            {
                child_fail("cannot create a mount namespace for the OCI runtime");
            }
            if let Some((dir, fstype, source, data)) = &mount {
                if libc::mount(source.as_ptr(), dir.as_ptr(), fstype.as_ptr(), 0, data.as_ptr() as *const libc::c_void) < 0 {
                    child_fail("cannot mount the container's root file system");
                }
            }
            let unified = c"/sys/fs/cgroup/unified";
            let mut st: libc::statfs = std::mem::zeroed();
            if private && libc::statfs(unified.as_ptr(), &mut st) == 0 && st.f_type as i64 == CGROUP2_SUPER_MAGIC as i64 {
                if self.is_crun() {
                    // crun refuses a hybrid cgroup host (a v2 mount beside v1 controllers) even
                    // with its cgroup manager disabled: in this private mount namespace, hide the v2 part.
                    libc::mount(c"none".as_ptr(), unified.as_ptr(), c"tmpfs".as_ptr(), libc::MS_RDONLY, c"size=4k".as_ptr() as *const libc::c_void);
                } else if self.is_youki() {
                    // youki's cgroup v1 manager fails on the first v1 directory it may not create
                    // (rootless, no delegation); its v2 manager, told it is rootless, leaves the
                    // process in its cgroup instead. Here the v2 mount covers the v1 ones, so
                    // youki sees a cgroup v2 host (with no controllers, as this one has none to give).
                    libc::mount(unified.as_ptr(), c"/sys/fs/cgroup".as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null());
                }
            }
            libc::execv(ptrs[0], ptrs.as_ptr());
            child_fail("cannot execute the OCI runtime");
        }
    }

    /// Create the container with the runtime, connect its network, start it.
    pub fn start(&self, l: &Launch) -> Result<Started, Failure> {
        let io = |what: &str, e: std::io::Error| (125, format!("{what}: {e}"));
        std::fs::create_dir_all(&self.bundle).map_err(|e| io(&format!("create {}", self.bundle), e))?;
        std::fs::create_dir_all(&self.root).map_err(|e| io(&format!("create {}", self.root), e))?;
        let text = std::fs::read_to_string(l.spec_file).map_err(|e| io(&format!("read {}", l.spec_file), e))?;
        let spec: Value = serde_json::from_str(&text).map_err(|e| (125, format!("invalid {}: {e}", l.spec_file)))?;
        let adapted = adapt_config(spec, l.rootfs, l.net_join, l.ns_join);
        std::fs::write(format!("{}/config.json", self.bundle), adapted.to_string()).map_err(|e| io("write the runtime's config.json", e))?;
        let pid_file = format!("{}/pid", self.bundle);
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(self.log_file());
        // A restart (or a monitor killed before it could delete): the old state goes first.
        self.delete();
        // Beside the runtime's root, not in the bundle: a socket path must fit in 108 bytes.
        let console = if l.terminal { Some(ConsoleSocket::listen(&format!("{}.console-{}.sock", self.root, &self.id[..self.id.len().min(12)]))?) } else { None };
        let mut words = vec!["create", "--bundle", &self.bundle, "--pid-file", &pid_file];
        let console_path = console.as_ref().map(|c| c.path.clone()).unwrap_or_default();
        if console.is_some() {
            words.extend(["--console-socket", console_path.as_str()]);
        }
        words.push(&self.id);
        let null = open_null();
        let stdio = if l.terminal { [null, null, null] } else { l.stdio };
        let creator = self.spawn(&self.command(&words), stdio, Some((l.rootfs, l.rootfs_mount)));
        unsafe { libc::close(null) };
        if creator < 0 {
            return Err((125, format!("cannot run {}: {}", self.path, std::io::Error::last_os_error())));
        }
        let (status, master) = match &console {
            Some(c) => c.receive_while(creator),
            None => (wait(creator), None),
        };
        drop(console);
        let close_master = || {
            if let Some(m) = master {
                unsafe { libc::close(m) };
            }
        };
        if status != 0 {
            close_master();
            self.delete();
            return Err(self.failed("create", status));
        }
        if l.terminal && master.is_none() {
            self.delete();
            return Err((125, format!("{} sent no terminal over the console socket", self.name)));
        }
        let pid = match std::fs::read_to_string(&pid_file).ok().and_then(|t| t.trim().parse::<i32>().ok()) {
            Some(p) if p > 0 => p,
            _ => {
                close_master();
                self.delete();
                return Err((125, format!("{} wrote no pid to {pid_file}", self.name)));
            }
        };
        // runc and crun bring up the loopback of a network namespace they create, youki does
        // not: ncx does, as for its own containers (published ports are forwarded to it).
        if makes_netns(&adapted) {
            if let Err(e) = loopback_up(pid) {
                close_master();
                self.kill_and_delete(pid);
                return Err((125, e));
            }
        }
        if let Some(a) = l.attach {
            if let Err(e) = crate::net::attach(a, pid) {
                close_master();
                self.kill_and_delete(pid);
                return Err((125, e));
            }
        }
        match self.run_quietly(&["start", &self.id]) {
            Ok(0) => Ok(Started { pid, master }),
            Ok(status) => {
                close_master();
                let f = self.failed("start", status);
                self.kill_and_delete(pid);
                Err(f)
            }
            Err(e) => {
                close_master();
                self.kill_and_delete(pid);
                Err((125, e))
            }
        }
    }

    fn kill_and_delete(&self, pid: i32) {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        self.delete();
    }

    /// `delete --force`: the runtime's state of the container (after it exited, or a leftover).
    pub fn delete(&self) {
        if std::path::Path::new(&format!("{}/{}", self.root, self.id)).exists() {
            let _ = self.run_quietly(&["delete", "--force", &self.id]);
        }
    }
}

/// `ncx-runtime run --oci-runtime …`: a foreground container made by the external runtime,
/// supervised here as `foreground::run` supervises ncx's own (relay, signals, log, state, exit code).
pub fn run_foreground(args: &Args, ext: &External) -> i32 {
    use crate::signals::{block_signals, supervised_signals};
    use crate::status::Status;
    use crate::supervise::{supervise_logged, Output};
    use ncx_core::logfile::{parse_size, JsonLog};
    use ncx_core::state::{process_start, rfc3339_nano, State};
    use std::time::SystemTime;
    let bundle = args.require("bundle").trim_end_matches('/').to_string();
    let status = Status { fd: args.get("status-fd").and_then(|s| s.parse().ok()) };
    let report = |code: i32, msg: String| -> i32 {
        if status.fd.is_some() {
            status.send(serde_json::json!({ "event": "error", "code": code, "message": msg }));
        } else {
            eprintln!("ncx-runtime: {msg}");
        }
        code
    };
    let cleanup = || {
        if let Some(dir) = args.get("cleanup") {
            let _ = std::fs::remove_dir_all(dir);
        }
    };
    let spec_file = format!("{bundle}/config.json");
    let spec = match ncx_core::spec::Spec::load(&spec_file) {
        Ok(s) => s,
        Err(e) => return report(125, e.to_string()),
    };
    if args.get("shm-from").is_some() {
        return report(125, format!("--ipc container: is not supported with --runtime {}", ext.name));
    }
    let root = spec.root.clone().unwrap_or_default();
    let rootfs = if root.path.starts_with('/') { root.path.clone() } else { format!("{bundle}/{}", root.path) };
    let rootfs_mount = match args.get("rootfs-mount") {
        Some(t) => match RootfsMount::parse(t) {
            Some(m) => Some(m),
            None => return report(125, format!("invalid --rootfs-mount {t:?}: expected TYPE:DATA")),
        },
        None => None,
    };
    let listeners = match crate::net::bind_ports(args) {
        Ok(l) => l,
        Err(e) => return report(125, e),
    };
    let attach = crate::net::attach_args(args).map(NetSetup::prefork);
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = ncx_core::userns::join(pid) {
            return report(125, e.to_string());
        }
    }
    if let (Some(l), Some(a)) = (&listeners, &attach) {
        if let Err(e) = crate::net::spawn_forwarder(l, &a.forward_target(args)) {
            return report(125, e);
        }
        for (fd, _) in &l.socks {
            unsafe { libc::close(*fd) };
        }
    }
    let mut output = match args.get("log-path") {
        Some(path) => {
            let size = match args.get("log-max-size").map(|s| (s, parse_size(s))) {
                Some((_, Some(n))) => n,
                Some((s, None)) => return report(125, format!("invalid --log-max-size {s:?}")),
                None => 0,
            };
            let files = args.get("log-max-file").and_then(|n| n.parse().ok()).unwrap_or(1);
            match JsonLog::open(path, size, files) {
                Ok(log) => Output::logged(log),
                Err(e) => return report(125, format!("cannot open the log {path}: {e}")),
            }
        }
        None => Output::default(),
    };
    let terminal = spec.process.as_ref().is_some_and(|p| p.terminal);
    let mut stdio = [0, 1, 2];
    let mut child_ends = Vec::new();
    if output.log.is_some() && !terminal {
        for stream in 0..2 {
            let mut p = [0 as RawFd; 2];
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
                return report(125, format!("pipe: {}", std::io::Error::last_os_error()));
            }
            output.pipes[stream] = Some(p[0]);
            stdio[stream + 1] = p[1];
            child_ends.push(p[1]);
        }
    }
    let (set, _) = block_signals(&supervised_signals());
    // The container's process is the runtime's child until `create` exits: then ours to reap.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let launch = Launch { spec_file: &spec_file, rootfs: &rootfs, rootfs_mount: rootfs_mount.as_ref(), stdio, terminal, net_join: args.get("net-join"), ns_join: args.get("ns-join"), attach: attach.as_ref() };
    let started = ext.start(&launch);
    for end in child_ends {
        unsafe { libc::close(end) };
    }
    let Started { pid, master } = match started {
        Ok(s) => s,
        Err((code, msg)) => {
            cleanup();
            return report(code, msg);
        }
    };
    let ports = listeners.as_ref().map(|l| l.report()).unwrap_or(serde_json::Value::Array(vec![]));
    status.send(serde_json::json!({ "event": "started", "pid": pid, "ports": ports }));
    let state_path = args.get("state").map(str::to_string);
    let me = std::process::id() as i32;
    let mut st = State { status: "running".into(), pid, monitor_pid: me, monitor_start: process_start(me).unwrap_or(0), started_at: rfc3339_nano(SystemTime::now()), ..Default::default() };
    if let Some(p) = &state_path {
        let _ = st.write(p);
    }
    let code = supervise_logged(pid, &set, master, args.has("--no-stdin"), &mut output);
    ext.delete();
    if let Some(p) = &state_path {
        st.status = "exited".into();
        st.pid = 0;
        st.exit_code = code;
        st.finished_at = rfc3339_nano(SystemTime::now());
        let _ = st.write(p);
    }
    status.send(serde_json::json!({ "event": "exit", "code": code, "oomKilled": false }));
    if let Some(dir) = args.get("cleanup") {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            status.send(serde_json::json!({ "event": "warning", "message": format!("cannot remove {dir}: {e}") }));
        }
    }
    code
}

fn open_null() -> RawFd {
    unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }
}

fn child_fail(what: &str) -> ! {
    let line = format!("ncx-runtime: {what}: {}\n", std::io::Error::last_os_error());
    unsafe {
        libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
        libc::_exit(127)
    }
}

/// Wait for a child; its wait status (EINTR retried).
fn wait(pid: i32) -> i32 {
    let mut st = 0;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut st, 0) };
        if r == pid {
            return st;
        }
        if r < 0 && ncx_core::sys::errno() != libc::EINTR {
            return 1 << 8;
        }
    }
}

/// The runtime side of `--console-socket`: the runtime connects and sends the pty master
/// over SCM_RIGHTS (runc's protocol, which crun and youki follow).
struct ConsoleSocket {
    fd: RawFd,
    path: String,
}

impl ConsoleSocket {
    fn listen(path: &str) -> Result<ConsoleSocket, Failure> {
        let _ = std::fs::remove_file(path);
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
        if fd < 0 {
            return Err((125, format!("console socket: {}", std::io::Error::last_os_error())));
        }
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        if path.len() >= addr.sun_path.len() {
            unsafe { libc::close(fd) };
            return Err((125, format!("console socket path too long: {path}")));
        }
        for (d, s) in addr.sun_path.iter_mut().zip(path.bytes()) {
            *d = s as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if unsafe { libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len) } < 0 || unsafe { libc::listen(fd, 1) } < 0 {
            let e = std::io::Error::last_os_error();
            unsafe { libc::close(fd) };
            return Err((125, format!("console socket {path}: {e}")));
        }
        Ok(ConsoleSocket { fd, path: path.to_string() })
    }

    /// Accept the runtime's connection and take the master, until `creator` exits; its wait
    /// status and the master.
    fn receive_while(&self, creator: i32) -> (i32, Option<RawFd>) {
        let deadline = Instant::now() + CREATE_TIMEOUT;
        let mut master = None;
        loop {
            if master.is_none() {
                let mut p = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
                unsafe { libc::poll(&mut p, 1, 20) };
                let conn = unsafe { libc::accept4(self.fd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
                if conn >= 0 {
                    let mut buf = [0u8; 4096];
                    master = crate::fdpass::recv_with_fd(conn, &mut buf).ok().and_then(|(_, fd)| fd);
                    unsafe { libc::close(conn) };
                }
            } else {
                return (wait(creator), master);
            }
            let mut st = 0;
            if unsafe { libc::waitpid(creator, &mut st, libc::WNOHANG) } == creator {
                return (st, master);
            }
            if Instant::now() > deadline {
                unsafe { libc::kill(creator, libc::SIGKILL) };
                return (wait(creator), master);
            }
        }
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        unsafe { libc::close(self.fd) };
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rootfs_becomes_absolute_and_shared_namespaces_become_paths() {
        let spec = serde_json::json!({
            "root": { "path": "rootfs" },
            "linux": { "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }] }
        });
        let out = adapt_config(spec, "/b/rootfs", Some("/proc/7/ns/net"), Some("pid=/proc/8/ns/pid,mnt=/proc/8/ns/mnt"));
        assert_eq!(out["root"]["path"], "/b/rootfs");
        let ns = out["linux"]["namespaces"].as_array().unwrap();
        let path = |t: &str| ns.iter().filter(|n| n["type"] == t).map(|n| n["path"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>();
        assert_eq!(path("network"), vec!["/proc/7/ns/net"]);
        assert_eq!(path("pid"), vec!["/proc/8/ns/pid"]);
        assert_eq!(path("mount"), vec!["/proc/8/ns/mnt"]);
        assert_eq!(path("ipc"), vec![""]);
    }

    #[test]
    fn a_command_that_cannot_start_gets_dockers_exit_codes() {
        assert_eq!(start_failure_code("runc create failed: unable to start container process: exec: \"x\": executable file not found in $PATH"), 127);
        assert_eq!(start_failure_code("crun create: executable file `x` not found in $PATH: No such file or directory"), 127);
        assert_eq!(start_failure_code("crun create: open executable: Permission denied"), 126);
        assert_eq!(start_failure_code("runc create failed: cannot allocate tty"), 125);
        assert_eq!(start_failure_code("youki create: error in executing command: failed to create container: exec process failed with error error in executing process : executable 'x' not found in $PATH"), 127);
        assert_eq!(start_failure_code("youki create: … executable '/etc/passwd' at path '\"/etc/passwd\"' does not have correct permissions"), 126);
    }

    #[test]
    fn the_last_error_of_runc_crun_and_youki_logs() {
        let runc = "{\"level\":\"warning\",\"msg\":\"w\"}\n{\"level\":\"error\",\"msg\":\"runc create failed: x\",\"time\":\"t\"}\n";
        assert_eq!(last_logged_error(runc).as_deref(), Some("runc create failed: x"));
        let youki = "{\"timestamp\":\"t\",\"level\":\"ERROR\",\"message\":\"inner\",\"target\":\"libcontainer\"}\n{\"timestamp\":\"t\",\"level\":\"ERROR\",\"message\":\"error in executing command: outer\",\"target\":\"youki\"}\n{\"level\":\"INFO\",\"message\":\"i\"}";
        assert_eq!(last_logged_error(youki).as_deref(), Some("error in executing command: outer"));
        assert_eq!(last_logged_error("{\"level\":\"info\",\"msg\":\"i\"}\nnot json\n"), None);
    }

    #[test]
    fn no_new_privileges_false_is_left_out_true_is_kept() {
        let off = adapt_config(serde_json::json!({ "root": {}, "process": { "noNewPrivileges": false, "args": ["sh"] } }), "/r", None, None);
        assert!(off["process"].get("noNewPrivileges").is_none());
        assert_eq!(off["process"]["args"], serde_json::json!(["sh"]));
        let on = adapt_config(serde_json::json!({ "root": {}, "process": { "noNewPrivileges": true } }), "/r", None, None);
        assert_eq!(on["process"]["noNewPrivileges"], true);
    }

    #[test]
    fn a_new_network_namespace_is_one_without_a_path() {
        let ns = |list: Value| serde_json::json!({ "linux": { "namespaces": list } });
        assert!(makes_netns(&ns(serde_json::json!([{ "type": "pid" }, { "type": "network" }]))));
        assert!(makes_netns(&ns(serde_json::json!([{ "type": "network", "path": "" }]))));
        assert!(!makes_netns(&ns(serde_json::json!([{ "type": "network", "path": "/proc/7/ns/net" }]))));
        assert!(!makes_netns(&ns(serde_json::json!([{ "type": "pid" }]))));
        assert!(!makes_netns(&serde_json::json!({ "linux": {} })));
    }

    #[test]
    fn nothing_to_join_leaves_the_namespaces_alone() {
        let spec = serde_json::json!({ "root": { "path": "rootfs" }, "linux": { "namespaces": [{ "type": "network" }] } });
        let out = adapt_config(spec.clone(), "/r", None, None);
        assert_eq!(out["linux"], spec["linux"]);
    }
}
