// Over 600 lines: the standard OCI command line is one state machine (create, start, state, kill,
// delete, run, exec and the hooks share the container directory and its state file); the last
// 125 lines are its unit tests.
//! The standard OCI runtime command line (the runtime-spec's runtime.md and runc's de-facto
//! flags), so that ncx-runtime can be driven as runc and crun are, and measured with the
//! same conformance suite:
//!
//!   ncx-runtime [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] [--rootless B]
//!       create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID
//!         (--no-pivot: the root is moved onto / and chrooted into, for a rootfs pivot_root refuses)
//!       start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID | pause ID | resume ID
//!       run [--bundle DIR] [--detach] … ID | exec [--process F] [-t] [--console-socket S] [-d] [--pid-file F] ID [ARGS…]
//!       ps [--format table|json] ID | list [--format table|json] [-q] | features
//!
//! Another door to the same code as ncx's private `run`: the namespaces, the cgroup, the
//! container's PID 1 and its filesystem plan are run.rs's; this module adds the state
//! directory (`ROOT/ID/state.json`), the start gate (an exec fifo PID 1 opens for writing
//! before it execs, as runc's), hooks, and the console socket. Run by an unprivileged user
//! with a `user` namespace and mappings in the config (`runc spec --rootless`), the runtime
//! creates that namespace itself and joins it first, as runc rootless does.

use crate::cli::{self, Args, Grammar, Words};
use ncx_core::spec::Spec;
use ncx_core::state::{process_start, rfc3339_nano};
use serde_json::{json, Value};
use std::io::Write;
use std::os::fd::RawFd;
use std::time::{Duration, Instant, SystemTime};

const OCI_VERSION: &str = "1.2.0";

/// The runtime-level options before the subcommand.
struct Global {
    root: String,
    log: Option<String>,
    log_json: bool,
}

type Fail = (i32, String);

const GLOBAL: Grammar = Grammar {
    name: "ncx-runtime",
    values: &["root", "log", "log-format", "rootless", "criu"],
    flags: &["systemd-cgroup", "debug"],
    words: Words::None,
    shorts: &[],
};

/// The standard subcommands' grammars.
pub const COMMANDS: &[Grammar] = &[
    Grammar {
        name: "create",
        values: &["bundle", "pid-file", "console-socket", "preserve-fds"],
        flags: &["no-pivot", "no-new-keyring"],
        words: Words::Any,
        shorts: &[('b', "bundle")],
    },
    Grammar {
        name: "run",
        values: &["bundle", "pid-file", "console-socket", "preserve-fds"],
        flags: &["no-pivot", "no-new-keyring", "detach", "keep"],
        words: Words::Any,
        shorts: &[('b', "bundle"), ('d', "detach")],
    },
    Grammar { name: "start", values: &[], flags: &[], words: Words::Any, shorts: &[] },
    Grammar { name: "state", values: &[], flags: &[], words: Words::Any, shorts: &[] },
    Grammar { name: "kill", values: &[], flags: &["all"], words: Words::Any, shorts: &[('a', "all")] },
    Grammar { name: "delete", values: &[], flags: &["force"], words: Words::Any, shorts: &[('f', "force")] },
    Grammar { name: "pause", values: &[], flags: &[], words: Words::Any, shorts: &[] },
    Grammar { name: "resume", values: &[], flags: &[], words: Words::Any, shorts: &[] },
    Grammar {
        name: "exec",
        values: &["process", "console-socket", "pid-file", "cwd", "env", "user", "preserve-fds"],
        flags: &["tty", "detach", "no-new-privs"],
        words: Words::Command,
        shorts: &[('p', "process"), ('t', "tty"), ('d', "detach"), ('e', "env"), ('u', "user")],
    },
    Grammar { name: "ps", values: &["format"], flags: &[], words: Words::Command, shorts: &[('f', "format")] },
    Grammar { name: "list", values: &["format"], flags: &["quiet"], words: Words::None, shorts: &[('f', "format"), ('q', "quiet")] },
    Grammar { name: "features", values: &[], flags: &[], words: Words::None, shorts: &[] },
];

/// Is this command line the standard one? The names `run`, `exec` and `ps` are also ncx's
/// private commands: those always carry `--status-fd` (run) or `--pid`.
pub fn is_standard(argv: &[String]) -> bool {
    let Some(first) = argv.first() else { return false };
    if first.starts_with('-') && first != "--version" {
        return true;
    }
    let has = |f: &str| argv.iter().any(|a| a == f || a.starts_with(&format!("{f}=")));
    match first.as_str() {
        "create" | "start" | "state" | "kill" | "delete" | "pause" | "resume" | "features" | "list" => true,
        "run" => !has("--status-fd"),
        "exec" => !has("--pid") && !has("--process-fd"),
        "ps" => !has("--pid"),
        _ => false,
    }
}

/// The fds `--preserve-fds N` keeps open (3 … 3+N-1), for main's first close.
pub fn preserved_fds(argv: &[String]) -> Vec<RawFd> {
    let n = argv
        .iter()
        .enumerate()
        .find_map(|(i, a)| a.strip_prefix("--preserve-fds=").map(str::to_string).or_else(|| (a == "--preserve-fds").then(|| argv.get(i + 1).cloned().unwrap_or_default())))
        .and_then(|v| v.parse::<RawFd>().ok())
        .unwrap_or(0);
    (3..3 + n.max(0)).collect()
}

/// Where the subcommand is: the global options come first.
fn subcommand_index(argv: &[String]) -> usize {
    let mut i = 0;
    while i < argv.len() && argv[i].starts_with('-') {
        let name = argv[i].trim_start_matches('-');
        if GLOBAL.values.contains(&name) {
            i += 1;
        }
        i += 1;
    }
    i
}

/// The standard command's subcommand (`exec` in `--root R exec …`): main runs `exec` from a
/// sealed copy of the runtime whichever command line it came in by.
pub fn subcommand(argv: &[String]) -> Option<&str> {
    argv.get(subcommand_index(argv)).map(String::as_str)
}

pub fn main(argv: &[String]) -> i32 {
    // Global options, up to the subcommand.
    let split = subcommand_index(argv);
    let globals = match cli::parse(&GLOBAL, &argv[..split]) {
        Ok(a) => a,
        Err(e) => return report(None, (1, e)),
    };
    let g = Global {
        root: globals.get("root").map(str::to_string).unwrap_or_else(default_root),
        log: globals.get("log").map(str::to_string),
        log_json: globals.get("log-format") == Some("json"),
    };
    let Some(cmd) = argv.get(split) else { return report(Some(&g), (1, "usage: ncx-runtime [global options] create|start|state|kill|delete|run|exec|ps|pause|resume|list|features …".into())) };
    let Some(grammar) = COMMANDS.iter().find(|c| c.name == cmd) else { return report(Some(&g), (1, format!("unknown command {cmd:?}"))) };
    let args = match cli::parse(grammar, &argv[split + 1..]) {
        Ok(a) => a,
        Err(e) => return report(Some(&g), (1, e)),
    };
    let result = match cmd.as_str() {
        "create" => create(&g, &args).map(|_| 0),
        "run" => run(&g, &args),
        "start" => start(&g, &args).map(|_| 0),
        "state" => state(&g, &args).map(|_| 0),
        "kill" => kill(&g, &args).map(|_| 0),
        "delete" => delete(&g, &args).map(|_| 0),
        "pause" => freeze(&g, &args, true).map(|_| 0),
        "resume" => freeze(&g, &args, false).map(|_| 0),
        "exec" => exec(&g, &args),
        "ps" => ps(&g, &args).map(|_| 0),
        "list" => list(&g, &args).map(|_| 0),
        "features" => {
            cli::out(serde_json::to_string_pretty(&features()).unwrap_or_default());
            Ok(0)
        }
        _ => unreachable!(),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(Some(&g), e),
    }
}

fn default_root() -> String {
    if unsafe { libc::geteuid() } == 0 {
        return "/run/ncx-runtime".into();
    }
    match std::env::var("XDG_RUNTIME_DIR") {
        Ok(d) if !d.is_empty() && std::path::Path::new(&d).is_dir() => format!("{d}/ncx-runtime"),
        _ => format!("/tmp/ncx-runtime-{}", unsafe { libc::geteuid() }),
    }
}

/// An error: on stderr, and in the `--log` file (runc's JSON lines with `--log-format json`).
fn report(g: Option<&Global>, (code, msg): Fail) -> i32 {
    let _ = writeln!(std::io::stderr(), "ncx-runtime: {msg}");
    if let Some(path) = g.and_then(|g| g.log.as_deref()) {
        let line = if g.is_some_and(|g| g.log_json) {
            json!({ "level": "error", "msg": msg, "time": rfc3339_nano(SystemTime::now()) }).to_string()
        } else {
            format!("level=error msg={msg:?}")
        };
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{line}");
        }
    }
    code
}

fn e1(msg: impl Into<String>) -> Fail {
    (1, msg.into())
}

// ---------------------------------------------------------------------------------------
// The state directory.

/// What `create` records in `ROOT/ID/state.json`.
#[derive(serde::Serialize, serde::Deserialize, Default, Clone)]
struct Record {
    id: String,
    bundle: String,
    pid: i32,
    /// The PID 1's start time (/proc/PID/stat field 22): a reused pid is not the container.
    start: u64,
    created: String,
    #[serde(default)]
    cgroup: String,
    #[serde(default)]
    annotations: Value,
    #[serde(default)]
    hooks: Value,
    #[serde(default)]
    owner: u32,
    /// The rootfs whose mounts PID 1 made in the runtime's mount namespace (a config without
    /// a mount namespace): detached at delete.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    host_mounts: String,
}

fn container_dir(g: &Global, id: &str) -> Result<String, Fail> {
    if id.is_empty() || id.contains('/') || id == "." || id == ".." || id.len() > 1024 {
        return Err(e1(format!("invalid container id {id:?}")));
    }
    Ok(format!("{}/{id}", g.root))
}

fn one_id(args: &Args) -> Result<&str, Fail> {
    match args.words.first() {
        Some(id) => Ok(id),
        None => Err(e1("missing the container id")),
    }
}

fn load(g: &Global, id: &str) -> Result<Record, Fail> {
    let dir = container_dir(g, id)?;
    let text = std::fs::read(format!("{dir}/state.json")).map_err(|_| e1(format!("container {id} does not exist")))?;
    serde_json::from_slice(&text).map_err(|e| e1(format!("container {id}: invalid state: {e}")))
}

fn save(g: &Global, r: &Record) -> Result<(), Fail> {
    let dir = container_dir(g, &r.id)?;
    let tmp = format!("{dir}/state.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(r).unwrap_or_default()).map_err(|e| e1(format!("write {tmp}: {e}")))?;
    std::fs::rename(&tmp, format!("{dir}/state.json")).map_err(|e| e1(format!("write state: {e}")))
}

/// Is the recorded PID 1 still that process, and not a zombie?
fn alive(r: &Record) -> bool {
    if r.pid <= 0 || process_start(r.pid) != Some(r.start) {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", r.pid)).unwrap_or_default();
    let state = stat.rfind(')').and_then(|i| stat[i + 2..].chars().next()).unwrap_or('X');
    !matches!(state, 'Z' | 'X' | 'x')
}

fn status(g: &Global, r: &Record) -> &'static str {
    if !alive(r) {
        return "stopped";
    }
    if std::path::Path::new(&format!("{}/{}/exec.fifo", g.root, r.id)).exists() {
        return "created";
    }
    if !r.cgroup.is_empty() && std::fs::read_to_string(format!("{}/cgroup.freeze", r.cgroup)).is_ok_and(|t| t.trim() == "1") {
        return "paused";
    }
    "running"
}

/// The runtime-spec's state document.
fn state_json(g: &Global, r: &Record, status_override: Option<&str>) -> Value {
    let status = status_override.unwrap_or_else(|| status(g, r));
    let pid = if status == "stopped" { 0 } else { r.pid };
    let mut v = json!({ "ociVersion": OCI_VERSION, "id": r.id, "status": status, "pid": pid, "bundle": r.bundle, "created": r.created, "owner": "" });
    if r.annotations.is_object() {
        v["annotations"] = r.annotations.clone();
    }
    v
}

// ---------------------------------------------------------------------------------------
// Hooks.

/// Run `hooks` (the config's entries: path, args, env, timeout) with `state` on stdin, in order;
/// the first failure stops them.
pub(crate) fn run_hooks(hooks: &Value, state: &Value) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let input = state.to_string();
    for h in hooks.as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
        let path = h["path"].as_str().unwrap_or("");
        let args: Vec<&str> = h["args"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        let mut cmd = std::process::Command::new(path);
        cmd.arg0(args.first().copied().unwrap_or(path)).args(args.iter().skip(1)).env_clear().stdin(std::process::Stdio::piped());
        for e in h["env"].as_array().map(|a| a.as_slice()).unwrap_or(&[]) {
            if let Some((k, v)) = e.as_str().and_then(|s| s.split_once('=')) {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.spawn().map_err(|e| format!("hook {path}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let deadline = h["timeout"].as_u64().filter(|t| *t > 0).map(|t| Instant::now() + Duration::from_secs(t));
        loop {
            match child.try_wait() {
                Ok(Some(st)) if st.success() => break,
                Ok(Some(st)) => return Err(format!("hook {path} failed: {st}")),
                Ok(None) if deadline.is_some_and(|d| Instant::now() > d) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("hook {path} timed out after {}s", h["timeout"]));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return Err(format!("hook {path}: {e}")),
            }
        }
    }
    Ok(())
}

/// In the container's PID 1 (run.rs `exec_process`), at the gate: tell the creator it is
/// ready, wait for `start` (the open of the fifo for writing blocks until it is opened for
/// reading), then run the `startContainer` hooks.
pub(crate) fn wait_for_start(sock: RawFd, fifo: RawFd) {
    unsafe { libc::send(sock, b"R".as_ptr() as *const libc::c_void, 1, libc::MSG_NOSIGNAL) };
    let path = ncx_core::sys::cstr(&format!("/proc/self/fd/{fifo}"));
    let w = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if w < 0 {
        crate::run::die(sock, 125, format!("open the exec fifo: {}", std::io::Error::last_os_error()));
    }
    unsafe {
        libc::write(w, b"0".as_ptr() as *const libc::c_void, 1);
        libc::close(w);
        libc::close(fifo);
    }
    crate::run::EXEC_FIFO.store(-1, std::sync::atomic::Ordering::Relaxed);
    let start = crate::run::START_HOOKS.lock().unwrap().clone();
    if let Err(e) = run_hooks(&start["hooks"], &start["state"]) {
        crate::run::die(sock, 125, e);
    }
}

// ---------------------------------------------------------------------------------------
// create, start, run.

struct Created {
    record: Record,
    master: Option<RawFd>,
    signals: libc::sigset_t,
}

fn config_hooks(config: &Value, kind: &str) -> Value {
    config["hooks"][kind].clone()
}

/// A user namespace the config lists: with a path, joined now; without one, made (mapped as
/// the config says) and joined now when not root, as runc rootless does (an unprivileged
/// user can create no other namespace outside one); as root, left to run.rs (ownns).
fn enter_user_namespace(spec: &mut Spec) -> Result<(), Fail> {
    let Some(linux) = spec.linux.as_mut() else { return Ok(()) };
    let Some(pos) = linux.namespaces.iter().position(|n| n.kind == "user") else {
        if unsafe { libc::geteuid() } != 0 {
            // Rootless without a user namespace in the config (runc refuses it): one that maps
            // the caller to root, as `unshare -r` makes, so a root config runs unchanged.
            let (me, my_gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            let map = |host| vec![ncx_core::userns::IdMap { container: 0, host, size: 1 }];
            let holder = ncx_core::userns::create_holder(&map(me), &map(my_gid), false).map_err(|e| e1(format!("cannot create a user namespace: {e}")))?;
            let joined = ncx_core::userns::join(holder);
            unsafe {
                libc::kill(holder, libc::SIGKILL);
                libc::waitpid(holder, std::ptr::null_mut(), 0);
            }
            joined.map_err(|e| e1(format!("cannot join the user namespace: {e}")))?;
        }
        return Ok(());
    };
    let ns = linux.namespaces[pos].clone();
    if !ns.path.is_empty() {
        let fd = ncx_core::sys::cstr(&ns.path);
        let fd = unsafe { libc::open(fd.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 || unsafe { libc::setns(fd, libc::CLONE_NEWUSER) } < 0 {
            return Err(e1(format!("join the user namespace {}: {}", ns.path, std::io::Error::last_os_error())));
        }
        unsafe { libc::close(fd) };
        ncx_core::userns::become_root();
        linux.namespaces.remove(pos);
        return Ok(());
    }
    if unsafe { libc::geteuid() } == 0 {
        return Ok(());
    }
    let maps = |m: &[ncx_core::spec::IdMapping]| m.iter().map(|x| ncx_core::userns::IdMap { container: x.container_id, host: x.host_id, size: x.size }).collect::<Vec<_>>();
    let (uid, gid) = (maps(&linux.uid_mappings), maps(&linux.gid_mappings));
    if uid.is_empty() || gid.is_empty() {
        return Err(e1("the user namespace needs uidMappings and gidMappings"));
    }
    let (me, my_gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // Only our own ids: written directly (setgroups denied); more need newuidmap/newgidmap.
    let helpers = !(uid.len() == 1 && uid[0].host == me && uid[0].size == 1 && gid.len() == 1 && gid[0].host == my_gid && gid[0].size == 1);
    let holder = ncx_core::userns::create_holder(&uid, &gid, helpers).map_err(|e| e1(format!("cannot create the user namespace: {e}")))?;
    let joined = ncx_core::userns::join(holder);
    unsafe {
        libc::kill(holder, libc::SIGKILL);
        libc::waitpid(holder, std::ptr::null_mut(), 0);
    }
    joined.map_err(|e| e1(format!("cannot join the user namespace: {e}")))?;
    linux.namespaces.remove(pos);
    Ok(())
}

/// The `KIND=PATH` list of the namespaces the config asks to join (besides user and mount).
fn join_list(spec: &Spec) -> Result<String, Fail> {
    let mut out = Vec::new();
    for n in spec.linux.as_ref().map(|l| l.namespaces.as_slice()).unwrap_or(&[]) {
        if n.path.is_empty() || n.kind == "user" {
            continue;
        }
        let kind = match n.kind.as_str() {
            "network" => "net",
            // Joined by the container's PID 1 itself (run.rs `child`), in place of the one it makes.
            "mount" | "cgroup" => continue,
            k => k,
        };
        out.push(format!("{kind}={}", n.path));
    }
    Ok(out.join(","))
}

/// MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], numbers without leading zeros (the spec: ociVersion
/// MUST be SemVer 2.0.0).
fn is_semver(v: &str) -> bool {
    let (v, build) = v.split_once('+').map_or((v, None), |(a, b)| (a, Some(b)));
    let (core, pre) = v.split_once('-').map_or((v, None), |(a, b)| (a, Some(b)));
    let ident = |s: &str| !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let nums: Vec<&str> = core.split('.').collect();
    nums.len() == 3
        && nums.iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0')))
        && pre.is_none_or(ident)
        && build.is_none_or(ident)
}

/// Detach the mounts a container without a mount namespace left on its rootfs (deepest first).
fn detach_mounts(rootfs: &str) {
    if rootfs.is_empty() {
        return;
    }
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for mp in ncx_core::plan::mounts_under(&table, rootfs) {
        let c = ncx_core::sys::cstr(&mp);
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Is /sys/fs/cgroup the cgroup v2 unified hierarchy (not v1 or hybrid)?
fn cgroup2_host() -> bool {
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let p = ncx_core::sys::cstr(ncx_core::cgroup::ROOT);
    unsafe { libc::statfs(p.as_ptr(), &mut st) == 0 && st.f_type as i64 == libc::CGROUP2_SUPER_MAGIC as i64 }
}

/// `cgroup` mounts become `cgroup2` on a cgroup v2 host.
fn cgroup_mounts_as_v2(spec: &mut Spec, v2: bool) {
    if v2 {
        for m in spec.mounts.iter_mut().filter(|m| m.kind == "cgroup") {
            m.kind = "cgroup2".into();
        }
    }
}

/// Connect to the console socket (before entering a container: the path is the host's).
pub(crate) fn connect_console(socket: &str) -> Result<RawFd, Fail> {
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if socket.len() >= addr.sun_path.len() {
        return Err(e1(format!("console socket path too long: {socket}")));
    }
    for (i, b) in socket.bytes().enumerate() {
        addr.sun_path[i] = b as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + socket.len()) as libc::socklen_t;
    if unsafe { libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len) } < 0 {
        let e = std::io::Error::last_os_error();
        unsafe { libc::close(fd) };
        return Err(e1(format!("connect to the console socket {socket}: {e}")));
    }
    Ok(fd)
}

/// The console-socket protocol (runc's): the pty master in one message, SCM_RIGHTS.
pub(crate) fn send_console(socket: &str, master: RawFd) -> Result<(), Fail> {
    let fd = connect_console(socket)?;
    crate::run::send_fd(fd, master);
    unsafe { libc::close(fd) };
    Ok(())
}

fn write_pid_file(path: Option<&str>, pid: i32) -> Result<(), Fail> {
    if let Some(p) = path {
        let tmp = format!("{p}.tmp{}", std::process::id());
        std::fs::write(&tmp, pid.to_string()).and_then(|_| std::fs::rename(&tmp, p)).map_err(|e| e1(format!("write the pid file {p}: {e}")))?;
    }
    Ok(())
}

/// `create`: the container's namespaces, cgroup and PID 1 (set up, waiting at its gate).
/// `foreground` (`run` without --detach): the terminal stays with this process.
fn create_container(g: &Global, args: &Args, foreground: bool) -> Result<Created, Fail> {
    let id = one_id(args)?.to_string();
    let dir = container_dir(g, &id)?;
    let bundle = std::fs::canonicalize(args.get("bundle").unwrap_or(".")).map_err(|e| e1(format!("bundle {}: {e}", args.get("bundle").unwrap_or("."))))?;
    let bundle = bundle.to_string_lossy().into_owned();
    let config_path = format!("{bundle}/config.json");
    let config: Value = std::fs::read(&config_path)
        .map_err(|e| e1(format!("read {config_path}: {e}")))
        .and_then(|t| serde_json::from_slice(&t).map_err(|e| e1(format!("{config_path}: {e}"))))?;
    let version = config["ociVersion"].as_str().unwrap_or("");
    if !is_semver(version) {
        return Err(e1(format!("{config_path}: ociVersion {version:?} is not a SemVer 2.0.0 version")));
    }
    let mut spec = Spec::load(&config_path).map_err(|e| e1(e.to_string()))?;
    let terminal = spec.process.as_ref().is_some_and(|p| p.terminal);
    let console = args.get("console-socket");
    if terminal && console.is_none() && !foreground {
        return Err(e1("process.terminal is true: a --console-socket is needed to receive the terminal"));
    }
    std::fs::create_dir_all(&g.root).map_err(|e| e1(format!("create the state directory {}: {e}", g.root)))?;
    if let Err(e) = std::fs::create_dir(&dir) {
        return Err(e1(if e.kind() == std::io::ErrorKind::AlreadyExists { format!("container with id exists: {id}") } else { format!("create {dir}: {e}") }));
    }
    let result = create_in(g, args, &id, &dir, &bundle, &config, &mut spec, console, foreground);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn create_in(g: &Global, args: &Args, id: &str, dir: &str, bundle: &str, config: &Value, spec: &mut Spec, console: Option<&str>, foreground: bool) -> Result<Created, Fail> {
    let root = spec.root.clone().unwrap_or_default();
    let rootfs = if root.path.starts_with('/') { root.path.clone() } else { format!("{bundle}/{}", root.path) };
    let fifo_path = format!("{dir}/exec.fifo");
    let c = ncx_core::sys::cstr(&fifo_path);
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } < 0 || unsafe { libc::chmod(c.as_ptr(), 0o622) } < 0 {
        return Err(e1(format!("mkfifo {fifo_path}: {}", std::io::Error::last_os_error())));
    }
    let rootless = unsafe { libc::geteuid() } != 0;
    // A cgroup file system without a cgroup namespace of the container's own cannot be
    // mounted from a user namespace: the host's is bound instead, read-only if asked (runc's way).
    if !spec.has_namespace("cgroup") {
        for m in spec.mounts.iter_mut().filter(|m| m.kind == "cgroup" || m.kind == "cgroup2") {
            m.kind = "bind".into();
            m.source = "/sys/fs/cgroup".into();
            m.options.push("rbind".into());
        }
    }
    // On a cgroup v2 host a `cgroup` mount is the unified hierarchy (runc mounts cgroup2 there).
    cgroup_mounts_as_v2(spec, cgroup2_host());
    // An ambient capability the inheritable and permitted sets lack cannot be raised: runc
    // skips it with a warning (`runc spec` lists ambient ones without inheritable), as here.
    if let Some(c) = spec.process.as_mut().and_then(|p| p.capabilities.as_mut()) {
        let (inh, perm) = (c.inheritable.clone(), c.permitted.clone());
        c.ambient.retain(|a| inh.contains(a) && perm.contains(a));
    }
    // The gids a rootless container has: devpts's `gid=5` is refused where 5 is not mapped
    // (`runc spec --rootless` drops it for the same reason).
    if rootless {
        let mapped: Vec<(u32, u32)> = spec.linux.as_ref().map(|l| l.gid_mappings.iter().map(|m| (m.container_id, m.size)).collect()).unwrap_or_default();
        let mapped = if mapped.is_empty() { vec![(0, 1)] } else { mapped };
        for m in spec.mounts.iter_mut().filter(|m| m.kind == "devpts") {
            m.options.retain(|o| match o.strip_prefix("gid=").and_then(|g| g.parse::<u32>().ok()) {
                Some(g) => mapped.iter().any(|(c, n)| g >= *c && g < c + n),
                None => true,
            });
        }
    }
    enter_user_namespace(spec)?;
    let joins = join_list(spec)?;
    let mut flags = libc::CLONE_NEWPID;
    for (kind, flag) in [("uts", libc::CLONE_NEWUTS), ("ipc", libc::CLONE_NEWIPC), ("network", libc::CLONE_NEWNET)] {
        if spec.has_namespace(kind) {
            flags |= flag;
        }
    }
    flags &= !crate::run::shared_namespaces(spec, Some(&joins)).map_err(e1)?;
    let own_userns = crate::ownns::prepare(spec).map_err(e1)?;
    if let Some(m) = spec.linux.as_ref().and_then(|l| l.uid_mappings.iter().find(|m| m.container_id == 0)) {
        if !rootless {
            unsafe { libc::chown(c.as_ptr(), m.host_id, u32::MAX) };
        }
    }
    if unsafe { libc::unshare(flags) } < 0 {
        return Err(e1(format!("cannot create the container's namespaces: {}", std::io::Error::last_os_error())));
    }
    let fifo = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fifo < 0 {
        return Err(e1(format!("open {fifo_path}: {}", std::io::Error::last_os_error())));
    }
    let created = rfc3339_nano(SystemTime::now());
    let annotations = config["annotations"].clone();
    let preview = Record { id: id.to_string(), bundle: bundle.to_string(), created: created.clone(), annotations: annotations.clone(), ..Default::default() };
    crate::run::EXEC_FIFO.store(fifo, std::sync::atomic::Ordering::Relaxed);
    crate::run::NO_PIVOT.store(args.has("--no-pivot"), std::sync::atomic::Ordering::Relaxed);
    let shared_mnt = !spec.has_namespace("mount");
    crate::run::SHARED_MOUNT_NS.store(shared_mnt, std::sync::atomic::Ordering::Relaxed);
    *crate::run::START_HOOKS.lock().unwrap() = json!({ "hooks": config_hooks(config, "startContainer"), "state": state_json(g, &preview, Some("created")) });
    let mut pair = [0 as RawFd; 2];
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, pair.as_mut_ptr()) } < 0 {
        return Err(e1(format!("socketpair: {}", std::io::Error::last_os_error())));
    }
    // Rootless without a delegated cgroup: the container runs in ours, as runc rootless does.
    let placement = match crate::cgroup::prepare(spec) {
        Ok(p) => p,
        Err(_) if rootless => None,
        Err(e) => return Err(e1(e)),
    };
    let (signals, old) = crate::run::block_signals(&crate::run::supervised_signals());
    let pid = crate::cgroup::clone_into(0, placement.as_ref());
    if pid < 0 {
        return Err(e1(format!("cannot start the container's process: {}", std::io::Error::last_os_error())));
    }
    if pid == 0 {
        unsafe {
            libc::close(pair[0]);
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        crate::run::child(spec, &rootfs, None, pair[1], false, None, None);
    }
    unsafe {
        libc::close(pair[1]);
        libc::close(fifo);
    }
    if let Some(fd) = own_userns {
        unsafe { libc::close(fd) };
    }
    if !foreground {
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
    let kill = |msg: String| -> Fail {
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        e1(msg)
    };
    let (master, error) = crate::run::receive(pair[0]);
    unsafe { libc::close(pair[0]) };
    let host_mounts = if shared_mnt { rootfs.clone() } else { String::new() };
    if let Some((_, msg)) = error {
        let e = kill(msg);
        detach_mounts(&host_mounts);
        if let Some(p) = placement {
            p.destroy();
        }
        return Err(e);
    }
    let record = Record {
        pid,
        start: process_start(pid).unwrap_or(0),
        cgroup: placement.as_ref().map(|p| p.dir.clone()).unwrap_or_default(),
        hooks: json!({ "poststart": config_hooks(config, "poststart"), "poststop": config_hooks(config, "poststop") }),
        owner: unsafe { libc::getuid() },
        host_mounts,
        ..preview
    };
    let fail = |msg: String| -> Fail {
        let e = kill(msg);
        detach_mounts(&record.host_mounts);
        if !record.cgroup.is_empty() {
            let _ = ncx_core::cgroup::destroy(&mut ncx_core::cgroup::RealFs, &record.cgroup);
        }
        e
    };
    if let (Some(m), Some(socket)) = (master, console) {
        send_console(socket, m).map_err(|(_, m)| fail(m))?;
        unsafe { libc::close(m) };
    }
    save(g, &record).map_err(|(_, m)| fail(m))?;
    write_pid_file(args.get("pid-file"), pid).map_err(|(_, m)| fail(m))?;
    let st = state_json(g, &record, Some("created"));
    for kind in ["prestart", "createRuntime", "createContainer"] {
        run_hooks(&config_hooks(config, kind), &st).map_err(&fail)?;
    }
    let master = if console.is_some() { None } else { master };
    Ok(Created { record, master, signals })
}

fn create(g: &Global, args: &Args) -> Result<(), Fail> {
    create_container(g, args, false).map(|_| ())
}

/// Open the gate: the container's PID 1 execs its process.
fn open_gate(g: &Global, r: &Record) -> Result<(), Fail> {
    let fifo = format!("{}/{}/exec.fifo", g.root, r.id);
    let c = ncx_core::sys::cstr(&fifo);
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(e1(format!("container {} is not created: {}", r.id, std::io::Error::last_os_error())));
    }
    let got = loop {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        unsafe { libc::poll(&mut p, 1, 50) };
        let mut b = [0u8; 1];
        let n = unsafe { libc::read(fd, b.as_mut_ptr() as *mut libc::c_void, 1) };
        if n == 1 {
            break true;
        }
        if !alive(r) {
            break false;
        }
    };
    unsafe { libc::close(fd) };
    let _ = std::fs::remove_file(&fifo);
    if !got {
        return Err(e1(format!("container {} exited before it started", r.id)));
    }
    Ok(())
}

fn poststart(g: &Global, r: &Record) {
    if let Err(e) = run_hooks(&r.hooks["poststart"], &state_json(g, r, Some("running"))) {
        let _ = writeln!(std::io::stderr(), "ncx-runtime: warning: {e}");
    }
}

fn start(g: &Global, args: &Args) -> Result<(), Fail> {
    let r = load(g, one_id(args)?)?;
    match status(g, &r) {
        "created" => {}
        s => return Err(e1(format!("cannot start container {}: it is {s}, not created", r.id))),
    }
    open_gate(g, &r)?;
    poststart(g, &r);
    Ok(())
}

fn run(g: &Global, args: &Args) -> Result<i32, Fail> {
    let detach = args.has("--detach");
    let c = create_container(g, args, !detach)?;
    if let Err(e) = open_gate(g, &c.record) {
        let _ = remove(g, &c.record, true);
        return Err(e);
    }
    poststart(g, &c.record);
    if detach {
        return Ok(0);
    }
    let code = crate::run::supervise(c.record.pid, &c.signals, c.master, false);
    if !args.has("--keep") {
        remove(g, &c.record, true)?;
    }
    Ok(code)
}

// ---------------------------------------------------------------------------------------
// state, kill, delete, pause, resume.

fn state(g: &Global, args: &Args) -> Result<(), Fail> {
    let r = load(g, one_id(args)?)?;
    cli::out(serde_json::to_string_pretty(&state_json(g, &r, None)).unwrap_or_default());
    Ok(())
}

/// A signal by name (`TERM`, `SIGTERM`) or number.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let name = s.trim_start_matches("SIG").to_ascii_uppercase();
    const NAMES: [(&str, i32); 31] = [
        ("HUP", 1), ("INT", 2), ("QUIT", 3), ("ILL", 4), ("TRAP", 5), ("ABRT", 6), ("IOT", 6), ("BUS", 7), ("FPE", 8), ("KILL", 9),
        ("USR1", 10), ("SEGV", 11), ("USR2", 12), ("PIPE", 13), ("ALRM", 14), ("TERM", 15), ("STKFLT", 16), ("CHLD", 17), ("CONT", 18),
        ("STOP", 19), ("TSTP", 20), ("TTIN", 21), ("TTOU", 22), ("URG", 23), ("XCPU", 24), ("XFSZ", 25), ("VTALRM", 26), ("PROF", 27),
        ("WINCH", 28), ("IO", 29), ("SYS", 31),
    ];
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off = if rest.is_empty() { 0 } else { rest.trim_start_matches('+').parse().ok()? };
        return Some(libc::SIGRTMIN() + off);
    }
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn cgroup_pids(r: &Record) -> Vec<i32> {
    std::fs::read_to_string(format!("{}/cgroup.procs", r.cgroup)).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn kill(g: &Global, args: &Args) -> Result<(), Fail> {
    let r = load(g, one_id(args)?)?;
    let text = args.words.get(1).map(String::as_str).unwrap_or("SIGTERM");
    let sig = parse_signal(text).ok_or_else(|| e1(format!("invalid signal {text:?}")))?;
    if status(g, &r) == "stopped" {
        return Err(e1(format!("container {} is not running", r.id)));
    }
    let mut pids = vec![r.pid];
    if args.has("--all") && !r.cgroup.is_empty() {
        pids = cgroup_pids(&r);
    }
    for p in pids {
        if unsafe { libc::kill(p, sig) } < 0 && p == r.pid {
            return Err(e1(format!("kill {}: {}", r.id, std::io::Error::last_os_error())));
        }
    }
    Ok(())
}

/// Remove a container: its process (`force`), cgroup, poststop hooks, state directory.
fn remove(g: &Global, r: &Record, force: bool) -> Result<(), Fail> {
    let s = status(g, r);
    if s != "stopped" {
        if !force && s != "created" {
            return Err(e1(format!("cannot delete container {} that is not stopped: {s}", r.id)));
        }
        if !r.cgroup.is_empty() {
            let _ = std::fs::write(format!("{}/cgroup.freeze", r.cgroup), "0");
        }
        // Woken by the exit itself (a pidfd polls readable when the process exits), not by a
        // sleep's tick: a poll every 2 ms cost up to 2 ms per delete. Opened before the kill and
        // checked by `alive` after it, so a reused pid only ends the wait early.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, r.pid, 0) } as RawFd;
        unsafe { libc::kill(r.pid, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(r) && Instant::now() < deadline {
            // Ours to reap when `run` made it.
            unsafe { libc::waitpid(r.pid, std::ptr::null_mut(), libc::WNOHANG) };
            if pidfd >= 0 {
                let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
                unsafe { libc::poll(&mut p, 1, 100) };
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if pidfd >= 0 {
            unsafe { libc::close(pidfd) };
        }
    }
    if !r.cgroup.is_empty() {
        if let Err(e) = ncx_core::cgroup::destroy(&mut ncx_core::cgroup::RealFs, &r.cgroup) {
            let _ = writeln!(std::io::stderr(), "ncx-runtime: warning: {e}");
        }
    }
    detach_mounts(&r.host_mounts);
    let st = state_json(g, r, Some("stopped"));
    let dir = container_dir(g, &r.id)?;
    std::fs::remove_dir_all(&dir).map_err(|e| e1(format!("remove {dir}: {e}")))?;
    if let Err(e) = run_hooks(&r.hooks["poststop"], &st) {
        let _ = writeln!(std::io::stderr(), "ncx-runtime: warning: {e}");
    }
    Ok(())
}

fn delete(g: &Global, args: &Args) -> Result<(), Fail> {
    let id = one_id(args)?;
    match load(g, id) {
        Ok(r) => remove(g, &r, args.has("--force")),
        // runc: `delete --force` of a container that does not exist succeeds.
        Err(_) if args.has("--force") => Ok(()),
        Err(e) => Err(e),
    }
}

fn freeze(g: &Global, args: &Args, on: bool) -> Result<(), Fail> {
    let r = load(g, one_id(args)?)?;
    let s = status(g, &r);
    if s != if on { "running" } else { "paused" } {
        return Err(e1(format!("container {} is {s}", r.id)));
    }
    if r.cgroup.is_empty() {
        return Err(e1(format!(
            "cannot {} container {}: it has no cgroup of its own (the cgroup v2 freezer needs linux.cgroupsPath in a cgroup delegated to this user)",
            if on { "pause" } else { "resume" },
            r.id
        )));
    }
    let f = format!("{}/cgroup.freeze", r.cgroup);
    std::fs::write(&f, if on { "1" } else { "0" }).map_err(|e| e1(format!("write {f}: {e}")))
}

// ---------------------------------------------------------------------------------------
// exec, ps, list, features.

fn exec(g: &Global, args: &Args) -> Result<i32, Fail> {
    let id = one_id(args)?;
    let r = load(g, id)?;
    if status(g, &r) != "running" {
        return Err(e1(format!("cannot exec in container {id}: it is not running")));
    }
    let config = format!("{}/config.json", r.bundle);
    let process: Value = match args.get("process") {
        Some(f) => std::fs::read(f).map_err(|e| e1(format!("read {f}: {e}"))).and_then(|t| serde_json::from_slice(&t).map_err(|e| e1(format!("{f}: {e}"))))?,
        None => {
            let spec: Value = std::fs::read(&config).ok().and_then(|t| serde_json::from_slice(&t).ok()).unwrap_or_default();
            let mut p = spec["process"].clone();
            if args.words.len() < 2 {
                return Err(e1("exec: missing the command (ID COMMAND… or --process FILE)"));
            }
            p["args"] = json!(args.words[1..]);
            p["terminal"] = json!(args.has("--tty"));
            if let Some(cwd) = args.get("cwd") {
                p["cwd"] = json!(cwd);
            }
            let mut env: Vec<Value> = p["env"].as_array().cloned().unwrap_or_default();
            env.extend(args.pairs.iter().filter(|(k, _)| k == "env").map(|(_, v)| json!(v)));
            p["env"] = json!(env);
            if let Some(u) = args.get("user") {
                let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
                p["user"] = json!({ "uid": uid.parse::<u32>().map_err(|_| e1(format!("invalid --user {u:?}")))?, "gid": gid.parse::<u32>().unwrap_or(0) });
            }
            if args.has("--no-new-privs") {
                p["noNewPrivileges"] = json!(true);
            }
            p
        }
    };
    let mut process = process;
    // As at create: the ambient capabilities that can be raised.
    if let Some(c) = process.get_mut("capabilities").filter(|c| c.is_object()) {
        let set = |k: &str| c[k].as_array().cloned().unwrap_or_default();
        let (inh, perm) = (set("inheritable"), set("permitted"));
        let amb: Vec<Value> = set("ambient").into_iter().filter(|a| inh.contains(a) && perm.contains(a)).collect();
        c["ambient"] = json!(amb);
    }
    let terminal = process["terminal"].as_bool().unwrap_or(false);
    if terminal && args.has("--detach") && args.get("console-socket").is_none() {
        return Err(e1("exec: a detached process with a terminal needs --console-socket"));
    }
    let mut private = Args::default();
    private.opts.insert("pid".into(), r.pid.to_string());
    private.opts.insert("process".into(), process.to_string());
    private.opts.insert("config".into(), config);
    for k in ["pid-file", "console-socket"] {
        if let Some(v) = args.get(k) {
            private.opts.insert(k.into(), v.into());
        }
    }
    if args.has("--detach") {
        private.flags.push("--detach".into());
    }
    let _ = g;
    Ok(crate::exec::exec(&private))
}

fn ps(g: &Global, args: &Args) -> Result<(), Fail> {
    let r = load(g, one_id(args)?)?;
    if status(g, &r) == "stopped" {
        return Err(e1(format!("container {} is not running", r.id)));
    }
    let pids: Vec<i32> = if !r.cgroup.is_empty() {
        cgroup_pids(&r)
    } else {
        let mut a = Args::default();
        a.opts.insert("pid".into(), r.pid.to_string());
        // Host pids of the processes in the container's PID namespace.
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", r.pid)).map_err(|e| e1(e.to_string()))?;
        std::fs::read_dir("/proc")
            .map_err(|e| e1(e.to_string()))?
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok().as_ref() == Some(&ns))
            .collect()
    };
    if args.get("format") == Some("json") {
        cli::out(json!(pids));
    } else {
        cli::out("PID   CMD");
        for p in pids {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim_end().to_string()).unwrap_or_default();
            cli::out(format!("{p:<5} {cmd}"));
        }
    }
    Ok(())
}

fn list(g: &Global, args: &Args) -> Result<(), Fail> {
    let mut rows = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&g.root) {
        for e in entries.flatten() {
            if let Ok(r) = load(g, &e.file_name().to_string_lossy()) {
                rows.push(r);
            }
        }
    }
    rows.sort_by(|a, b| a.created.cmp(&b.created));
    if args.has("--quiet") {
        for r in &rows {
            cli::out(&r.id);
        }
    } else if args.get("format") == Some("json") {
        let v: Vec<Value> = rows.iter().map(|r| state_json(g, r, None)).collect();
        cli::out(json!(v));
    } else {
        cli::out(format!("{:<20} {:<8} {:<10} {:<40} {}", "ID", "PID", "STATUS", "BUNDLE", "CREATED"));
        for r in &rows {
            let s = status(g, r);
            cli::out(format!("{:<20} {:<8} {:<10} {:<40} {}", r.id, if s == "stopped" { 0 } else { r.pid }, s, r.bundle, r.created));
        }
    }
    Ok(())
}

/// The runtime-spec's features document (features.md).
fn features() -> Value {
    let caps: Vec<String> = ncx_core::caps::NAMES.iter().map(|n| format!("CAP_{}", n.to_ascii_uppercase())).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave", "relatime", "norelatime", "strictatime", "nostrictatime", "noatime", "atime", "nodiratime", "diratime", "remount", "tmpcopyup"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": caps,
            "cgroup": { "v1": false, "v2": true, "systemd": false, "systemdUser": false, "rdma": false },
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG"],
                "operators": ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"],
                "archs": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": false },
        },
        "annotations": { "org.opencontainers.runtime.name": "ncx-runtime", "org.opencontainers.runtime.version": env!("CARGO_PKG_VERSION") },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn parse(cmd: &str, line: &str) -> Result<Args, String> {
        cli::parse(COMMANDS.iter().find(|c| c.name == cmd).unwrap(), &argv(line))
    }

    #[test]
    fn standard_and_private_command_lines_are_told_apart() {
        assert!(is_standard(&argv("create --bundle /b c1")));
        assert!(is_standard(&argv("--root /r state c1")));
        assert!(is_standard(&argv("run -b /b c1")));
        assert!(!is_standard(&argv("run --bundle /b --status-fd 3")));
        assert!(is_standard(&argv("exec -t c1 sh")));
        assert!(!is_standard(&argv("exec --pid 5 --process-fd 4 --status-fd 3")));
        assert!(is_standard(&argv("kill c1 KILL")));
        // (ncx signals its containers itself now: no private `kill`)
        assert!(is_standard(&argv("kill --pid 5 --signal 9")));
        assert!(!is_standard(&argv("ps --pid 5")));
        assert!(!is_standard(&argv("unpack --dest d --file -")));
        assert!(!is_standard(&argv("--version")));
    }

    #[test]
    fn each_commands_flags() {
        let a = parse("create", "--bundle /b --pid-file /p --console-socket /s --no-pivot --preserve-fds 2 c1").unwrap();
        assert_eq!((a.get("bundle"), a.get("pid-file"), a.get("console-socket"), a.get("preserve-fds")), (Some("/b"), Some("/p"), Some("/s"), Some("2")));
        assert!(a.has("--no-pivot"));
        assert_eq!(a.words, vec!["c1"]);
        assert_eq!(parse("create", "-b /b c1").unwrap().get("bundle"), Some("/b"));
        assert!(parse("kill", "--all c1 KILL").unwrap().has("--all"));
        assert_eq!(parse("kill", "-a c1 9").unwrap().words, vec!["c1", "9"]);
        assert!(parse("delete", "-f c1").unwrap().has("--force"));
        let e = parse("exec", "-t -e A=1 --env B=2 --cwd /tmp c1 sh -c 'x' --not-ours").unwrap();
        assert!(e.has("--tty"));
        assert_eq!(e.pairs.iter().filter(|(k, _)| k == "env").count(), 2);
        assert_eq!(e.words[0], "c1");
        assert_eq!(e.words.last().unwrap(), "--not-ours");
        assert_eq!(parse("ps", "--format json c1").unwrap().get("format"), Some("json"));
        assert!(parse("list", "-q").unwrap().has("--quiet"));
        assert!(parse("run", "-d -b /b c1").unwrap().has("--detach"));
    }

    #[test]
    fn unknown_flags_are_rejected() {
        assert!(parse("create", "--bundel /b c1").unwrap_err().contains("--bundel"));
        assert!(parse("delete", "--forse c1").unwrap_err().contains("--forse"));
        assert!(parse("kill", "-s 9 c1").unwrap_err().contains("-s"));
        assert!(parse("features", "extra").unwrap_err().contains("unexpected"));
    }

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("TERM"), Some(15));
        assert_eq!(parse_signal("SIGKILL"), Some(9));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("usr1"), Some(10));
        assert_eq!(parse_signal("NOPE"), None);
        assert_eq!(parse_signal("0"), None);
    }

    #[test]
    fn rlimits_map_to_the_kernels_and_an_unknown_one_is_an_error() {
        assert_eq!(crate::run::rlimit_resource("RLIMIT_NOFILE"), Ok(libc::RLIMIT_NOFILE));
        assert_eq!(crate::run::rlimit_resource("RLIMIT_RTTIME"), Ok(libc::RLIMIT_RTTIME));
        assert_eq!(crate::run::rlimit_resource("RLIMIT_TEST").unwrap_err(), "unsupported rlimit RLIMIT_TEST");
    }

    #[test]
    fn namespace_paths_are_joined_by_the_runtime_except_mount_and_cgroup_which_pid_1_joins() {
        let spec: Spec = serde_json::from_value(json!({
            "ociVersion": "1.0.2",
            "linux": { "namespaces": [
                { "type": "pid", "path": "/proc/7/ns/pid" }, { "type": "network", "path": "/run/netns/a" },
                { "type": "mount", "path": "/proc/7/ns/mnt" }, { "type": "cgroup", "path": "/proc/7/ns/cgroup" },
                { "type": "uts" }, { "type": "user", "path": "/proc/7/ns/user" }
            ] }
        }))
        .unwrap();
        assert_eq!(join_list(&spec).unwrap(), "pid=/proc/7/ns/pid,net=/run/netns/a");
        assert_eq!(spec.namespace_path("mount"), Some("/proc/7/ns/mnt"));
        assert_eq!(spec.namespace_path("cgroup"), Some("/proc/7/ns/cgroup"));
        assert_eq!(spec.namespace_path("uts"), None);
        assert_eq!(spec.namespace_path("ipc"), None);
    }

    #[test]
    fn a_cgroup_mount_is_cgroup2_on_a_v2_host_only() {
        let spec = || -> Spec { serde_json::from_value(json!({ "ociVersion": "1.0.2", "mounts": [{ "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup" }, { "destination": "/proc", "type": "proc", "source": "proc" }] })).unwrap() };
        let mut v2 = spec();
        cgroup_mounts_as_v2(&mut v2, true);
        assert_eq!(v2.mounts.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(), ["cgroup2", "proc"]);
        let mut v1 = spec();
        cgroup_mounts_as_v2(&mut v1, false);
        assert_eq!(v1.mounts[0].kind, "cgroup");
    }

    #[test]
    fn an_unknown_capability_in_any_set_is_an_error() {
        let p = |caps: Value| -> ncx_core::spec::Process { serde_json::from_value(json!({ "cwd": "/", "user": { "uid": 0, "gid": 0 }, "capabilities": caps })).unwrap() };
        // Bounding names are only checked for being known; what the process keeps must be held.
        assert!(crate::run::check_capabilities(&p(json!({ "bounding": ["CAP_CHOWN", "CAP_SYS_MODULE"] }))).is_ok());
        let e = crate::run::check_capabilities(&p(json!({ "bounding": ["CAP_CHOWN", "CAP_TEST"] }))).unwrap_err();
        assert!(e.contains("CAP_TEST"), "{e}");
        assert!(crate::run::check_capabilities(&p(json!({ "ambient": ["CAP_NOPE"] }))).is_err());
    }

    #[test]
    fn an_id_is_mapped_only_inside_a_range_of_the_map() {
        let map = "         0       1001          1\n         1     100000      65536\n";
        assert!(crate::run::id_mapped(map, 0));
        assert!(crate::run::id_mapped(map, 10));
        assert!(crate::run::id_mapped(map, 65536));
        assert!(!crate::run::id_mapped(map, 65537));
        assert!(crate::run::id_mapped("0 1001 1\n", 0));
        assert!(!crate::run::id_mapped("0 1001 1\n", 5), "a single-id namespace maps only 0");
        assert!(!crate::run::id_mapped("", 0));
    }

    #[test]
    fn a_capability_the_runtime_does_not_hold_fails_before_the_start_gate() {
        let p = |caps: Value| -> ncx_core::spec::Process { serde_json::from_value(json!({ "cwd": "/", "user": { "uid": 0, "gid": 0 }, "capabilities": caps })).unwrap() };
        let held = ncx_core::caps::permitted().unwrap();
        let every: Vec<String> = ncx_core::caps::NAMES[..=(ncx_core::caps::last_cap() as usize).min(ncx_core::caps::NAMES.len() - 1)].iter().map(|n| n.to_string()).collect();
        let all = ncx_core::caps::mask(&every).unwrap();
        let r = crate::run::check_capabilities(&p(json!({ "permitted": every, "effective": every })));
        match ncx_core::caps::missing(all, held).first() {
            Some(first) => assert!(r.unwrap_err().contains(first)),
            None => assert!(r.is_ok(), "every capability is held, so asking for all of them works"),
        }
        // Ask for exactly what is held: never an error.
        let names: Vec<&str> = (0..64).filter(|c| held & (1u64 << c) != 0).filter_map(|c| ncx_core::caps::NAMES.get(c as usize).copied()).collect();
        assert!(crate::run::check_capabilities(&p(json!({ "permitted": names, "effective": names }))).is_ok());
    }

    #[test]
    fn oci_version_must_be_semver() {
        for ok in ["1.0.2", "1.2.0", "1.0.0-rc5", "1.0.2-dev", "10.20.30+build.1", "1.0.0-alpha.1+x"] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["invalid", "", "1.0", "1.0.2.3", "01.0.0", "1.0.0-", "1.0.0+", "1..0", "v1.0.0", "1.0.0-a..b"] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn preserved_fds_follow_the_flag() {
        assert_eq!(preserved_fds(&argv("run --preserve-fds 2 c")), vec![3, 4]);
        assert_eq!(preserved_fds(&argv("create --preserve-fds=1 c")), vec![3]);
        assert!(preserved_fds(&argv("create c")).is_empty());
    }
}
