//! A container's PID 1, for `run` (foreground.rs is the parent's side), the monitor and the
//! OCI `create`: its own mount (and cgroup) namespace, the filesystem plan, then the process
//! (terminal, credentials, capabilities, seccomp, cwd, execve). Errors go to the parent over
//! a SOCK_SEQPACKET pair (fdpass.rs) with Docker's exit codes.

// (`pub(crate)`: oci.rs still names these `crate::run::…`; re-exported until its calls name
// fdpass, signals and supervise directly)
pub(crate) use crate::fdpass::{receive, send_fd};
pub(crate) use crate::signals::{block_signals, supervised_signals};
pub(crate) use crate::supervise::supervise;
use crate::Args;
use ncx_core::plan::{execute, plan, RootfsMount};
use ncx_core::spec::{Process, Spec};
use ncx_core::sys::{cstr, errno, RealSys};
use ncx_core::caps;
use std::ffi::CString;
use std::os::fd::RawFd;

/// The OCI `create`'s start gate (oci.rs): an O_PATH fd of the container's exec fifo. PID 1
/// reports `R` (ready) once set up, then opens the fifo for writing, which blocks until
/// `start` opens it for reading, and only then execs. -1: no gate (ncx's own `run`).
pub(crate) static EXEC_FIFO: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The OCI `create --no-pivot`: the container's root is moved onto `/` and chrooted into
/// (plan.rs `MoveRoot`) instead of pivot_root.
pub(crate) static NO_PIVOT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The OCI `create` of a config without a mount namespace: PID 1 stays in the runtime's and
/// chroots (plan.rs `in_the_callers_mount_namespace`); `delete` detaches the mounts it made.
pub(crate) static SHARED_MOUNT_NS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The spec's `startContainer` hooks and the state they read on stdin (`{"hooks":[…],"state":{…}}`):
/// run in the container, after the gate, before execve.
pub(crate) static START_HOOKS: std::sync::Mutex<serde_json::Value> = std::sync::Mutex::new(serde_json::Value::Null);

/// Make this process unreachable from the container it is about to enter: not dumpable, so
/// no process in there can open its /proc/PID/exe (the runtime binary on the host), mem,
/// cwd or fds, nor ptrace it, until it execs the container's command (execve makes the
/// command dumpable again, as any program). A non-dumpable process's /proc/self files
/// belong to the host's root: the OOM score (inherited by children and across execve) is
/// written first.
pub(crate) fn undumpable(process: &Process) -> Result<(), String> {
    if let Some(adj) = process.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| format!("set oom_score_adj {adj}: {e} (a rootless container can only raise it)"))?;
    }
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } < 0 {
        return Err(format!("prctl(PR_SET_DUMPABLE): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Report an error to the parent and exit: the parent turns it into the exit code.
/// Without a socket (health checks) the message goes to stderr.
pub(crate) fn die(sock: RawFd, code: i32, msg: String) -> ! {
    let body = format!("E{}", serde_json::json!({ "code": code, "message": msg }));
    unsafe {
        // (No one listening any more, an OCI container past `create`: on its stderr.)
        if sock < 0 || libc::send(sock, body.as_ptr() as *const libc::c_void, body.len(), libc::MSG_NOSIGNAL) < 0 {
            let line = format!("{msg}\n");
            libc::write(2, line.as_ptr() as *const libc::c_void, line.len());
        }
        libc::_exit(code);
    }
}

/// Open a pty in the container's devpts, hand the master to the parent, and make the
/// slave our controlling terminal and stdio.
fn setup_terminal(sock: RawFd, size: Option<ncx_core::spec::ConsoleSize>) -> Result<(), String> {
    unsafe {
        let master = libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if master < 0 {
            return Err(format!("open /dev/ptmx: {}", std::io::Error::last_os_error()));
        }
        if libc::unlockpt(master) < 0 {
            return Err(format!("unlockpt: {}", std::io::Error::last_os_error()));
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(master, name.as_mut_ptr(), name.len()) != 0 {
            return Err("ptsname failed".into());
        }
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        if slave < 0 {
            return Err(format!("open pty slave: {}", std::io::Error::last_os_error()));
        }
        // The initial size (OCI consoleSize), before the process can ask for it.
        if let Some(c) = size.filter(|c| c.height > 0 && c.width > 0) {
            let ws = libc::winsize { ws_row: c.height, ws_col: c.width, ws_xpixel: 0, ws_ypixel: 0 };
            libc::ioctl(master, libc::TIOCSWINSZ, &ws);
        }
        send_fd(sock, master);
        libc::close(master);
        libc::setsid();
        if libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
            return Err(format!("set controlling terminal: {}", std::io::Error::last_os_error()));
        }
        // With -t alone the container still gets the terminal as stdin; the parent just
        // relays no input to it.
        for fd in 0..3 {
            libc::dup2(slave, fd);
        }
        if slave > 2 {
            libc::close(slave);
        }
    }
    Ok(())
}

/// setrlimit(2)'s resource type: glibc's enum, musl's int.
#[cfg(target_env = "gnu")]
pub(crate) type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub(crate) type RlimitResource = libc::c_int;

/// The kernel's resource for an OCI rlimit name; an unknown name is an error (the spec: a
/// value that cannot be mapped to a kernel interface MUST fail).
pub(crate) fn rlimit_resource(kind: &str) -> Result<RlimitResource, String> {
    Ok(match kind {
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        other => return Err(format!("unsupported rlimit {other}")),
    })
}

/// The process's rlimits: set before the OCI start gate (as runc sets them in its init), so
/// one that cannot be set fails `create`, not `start`.
fn set_rlimits(p: &Process) -> Result<(), String> {
    for r in &p.rlimits {
        let lim = libc::rlimit { rlim_cur: r.soft, rlim_max: r.hard };
        if unsafe { libc::setrlimit(rlimit_resource(&r.kind)?, &lim) } < 0 {
            return Err(format!("setrlimit {}: {}", r.kind, std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Every capability name is one the kernel interface knows, and every one the process is to
/// hold is one this process holds (capset never raises the permitted set: a host that keeps
/// a capability from root, such as CAP_SYS_RESOURCE here, cannot hand it on). Checked before
/// the OCI start gate, so either fails `create` as runc's does (the capabilities are applied
/// after it).
pub(crate) fn check_capabilities(p: &Process) -> Result<(), String> {
    let c = p.capabilities.clone().unwrap_or_default();
    let mut wanted = 0;
    for set in [&c.effective, &c.permitted, &c.inheritable, &c.ambient] {
        wanted |= caps::mask(set)?;
    }
    caps::mask(&c.bounding)?;
    let held = caps::permitted().map_err(|e| e.to_string())?;
    let missing = caps::missing(wanted, held);
    if !missing.is_empty() {
        return Err(format!(
            "process.capabilities asks for {} which the runtime does not hold (the host withholds it): leave it out of the container's capabilities",
            missing.join(", ")
        ));
    }
    Ok(())
}

/// Whether `id` is inside one of the ranges of an id map (`/proc/self/uid_map`'s format).
pub(crate) fn id_mapped(map: &str, id: u32) -> bool {
    map.lines().any(|l| {
        let f: Vec<u64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        f.len() == 3 && f[0] <= u64::from(id) && u64::from(id) < f[0] + f[2]
    })
}

/// The process's user can be taken in this user namespace: its uid and gids are mapped, and
/// additional groups are allowed (a namespace with one mapped id denies setgroups). Checked
/// before the OCI start gate, so an impossible user fails `create` as runc's does, not the
/// container's first instruction. Root with no extra groups, the usual case, reads nothing.
pub(crate) fn check_user(p: &Process) -> Result<(), String> {
    let u = &p.user;
    let extra: Vec<u32> = u.additional_gids.iter().copied().filter(|g| *g != u.gid).collect();
    if u.uid == 0 && u.gid == 0 && extra.is_empty() {
        return Ok(());
    }
    let read = |f: &str| std::fs::read_to_string(f).map_err(|e| format!("read {f}: {e}"));
    if !id_mapped(&read("/proc/self/uid_map")?, u.uid) {
        return Err(format!("process.user.uid {} is not mapped in the container's user namespace: map it (linux.uidMappings) or pick a mapped uid", u.uid));
    }
    let gid_map = read("/proc/self/gid_map")?;
    for g in std::iter::once(u.gid).chain(extra.iter().copied()) {
        if !id_mapped(&gid_map, g) {
            return Err(format!("gid {g} of process.user is not mapped in the container's user namespace: map it (linux.gidMappings) or pick a mapped gid"));
        }
    }
    if !extra.is_empty() && read("/proc/self/setgroups").map(|s| s.trim() == "deny").unwrap_or(false) {
        return Err("process.user.additionalGids needs setgroups, which this user namespace denies (it maps a single id, as a rootless runtime without newgidmap does): leave them out or map a range".into());
    }
    Ok(())
}

/// The process's settings (its OOM score is `undumpable`'s, earlier; its rlimits `set_rlimits`').
fn apply_process(p: &Process) -> Result<(), String> {
    let c = p.capabilities.clone().unwrap_or_default();
    let bounding = caps::mask(&c.bounding)?;
    caps::drop_bounding(bounding).map_err(|e| e.to_string())?;
    let u = &p.user;
    unsafe {
        libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0);
        let groups: Vec<libc::gid_t> = u.additional_gids.clone();
        // setgroups is denied in a single-id user namespace; only an error when groups other
        // than the primary group were asked for.
        if libc::setgroups(groups.len(), groups.as_ptr()) < 0 && groups.iter().any(|g| *g != u.gid) {
            return Err(format!("setgroups: {}", std::io::Error::last_os_error()));
        }
        if libc::setresgid(u.gid, u.gid, u.gid) < 0 {
            return Err(format!("setgid {}: {} (is the gid mapped in the user namespace?)", u.gid, std::io::Error::last_os_error()));
        }
        if libc::setresuid(u.uid, u.uid, u.uid) < 0 {
            return Err(format!("setuid {}: {} (is the uid mapped in the user namespace?)", u.uid, std::io::Error::last_os_error()));
        }
    }
    caps::apply(caps::mask(&c.effective)?, caps::mask(&c.permitted)?, caps::mask(&c.inheritable)?, caps::mask(&c.ambient)?)
        .map_err(|e| e.to_string())?;
    if p.no_new_privileges {
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    }
    Ok(())
}

/// getcwd(2) itself (not the libc wrapper): the kernel prefixes a directory that cannot be
/// reached from the process's root with "(unreachable)".
fn cwd_inside_root() -> bool {
    let mut buf = [0u8; 4096];
    let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    n > 0 && buf[0] == b'/'
}

/// The container process's umask: the spec's `process.user.umask`, else 0022 as runc and
/// Docker give it; never ncx's own 077 (main.rs PRIVATE_UMASK), which it would inherit.
pub(crate) fn container_umask(p: &Process) -> libc::mode_t {
    p.user.umask.unwrap_or(0o022) as libc::mode_t
}

/// Find `arg0` the way execvp does, with the container's PATH.
fn lookup(arg0: &str, env: &[String]) -> Result<String, (i32, String)> {
    if arg0.contains('/') {
        return Ok(arg0.to_string());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{}/{arg0}", dir.trim_end_matches('/'));
        let c = cstr(&candidate);
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::stat(c.as_ptr(), &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG {
            if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
                return Ok(candidate);
            }
            denied.get_or_insert(candidate);
        }
    }
    match denied {
        Some(p) => Err((126, format!("exec: {p:?}: permission denied"))),
        None => Err((127, format!("exec: {arg0:?}: executable file not found in $PATH"))),
    }
}

/// The container's PID 1: its own mount namespace, the filesystem plan, then the process.
/// `pdeath`: die with the parent (the monitor), so no container outlives its monitor.
/// `shm_from`: the mount namespace (`/proc/PID/ns/mnt`) whose /dev/shm this container shares.
pub(crate) fn child(spec: &Spec, rootfs: &str, rootfs_mount: Option<&RootfsMount>, sock: RawFd, pdeath: bool, gate: Option<RawFd>, shm_from: Option<&str>) -> ! {
    if !crate::sealed::running_sealed() {
        // Everything below runs from a sealed copy of the runtime (sealed.rs), as
        // `ncx-runtime init`: the same process (pid, namespaces, cgroup, fds) after execve.
        let own_userns = crate::ownns::path(spec).and_then(|p| p.strip_prefix("/proc/self/fd/")).and_then(|n| n.parse::<RawFd>().ok());
        let bypass = crate::bypass::control();
        let fifo = EXEC_FIFO.load(std::sync::atomic::Ordering::Relaxed);
        let state = serde_json::json!({
            "spec": spec, "rootfs": rootfs, "rootfsMount": rootfs_mount.map(|m| format!("{}:{}", m.fstype, m.data)),
            "sock": sock, "pdeath": pdeath, "gate": gate, "shmFrom": shm_from, "bypass": bypass,
            "execFifo": fifo, "startHooks": START_HOOKS.lock().unwrap().clone(),
            "noPivot": NO_PIVOT.load(std::sync::atomic::Ordering::Relaxed),
            "sharedMountNs": SHARED_MOUNT_NS.load(std::sync::atomic::Ordering::Relaxed),
        });
        let keep: Vec<RawFd> = [Some(sock), gate, own_userns, (bypass >= 0).then_some(bypass), (fifo >= 0).then_some(fifo)].into_iter().flatten().collect();
        die(sock, 125, crate::sealed::reexec_with_state("init", &state, &keep));
    }
    let process = spec.process.clone().unwrap_or_default();
    // Wait until the parent has set up the network namespace (EOF without a byte: give up).
    if let Some(g) = gate {
        let mut b = [0u8; 1];
        if unsafe { libc::read(g, b.as_mut_ptr() as *mut libc::c_void, 1) } != 1 {
            unsafe { libc::_exit(125) };
        }
        unsafe { libc::close(g) };
    }
    // Not before: the parent (and slirp4netns) open this process's /proc/PID/ns/net for the
    // network. Until here it has done nothing but wait, visible only to the processes of a
    // container whose PID namespace it shares (`--pid container:X`).
    if let Err(e) = undumpable(&process) {
        die(sock, 125, e);
    }
    // The cgroup and mount namespaces are this process's own: made here, or joined when the
    // config gives a path (a namespace file of the wrong type is refused by setns).
    let shared_mnt = SHARED_MOUNT_NS.load(std::sync::atomic::Ordering::Relaxed);
    for (kind, flag, made) in [("cgroup", libc::CLONE_NEWCGROUP, spec.has_namespace("cgroup")), ("mount", libc::CLONE_NEWNS, !shared_mnt)] {
        if let Some(path) = spec.namespace_path(kind) {
            use ncx_core::sys::Sys;
            if let Err(e) = RealSys.open_ns(path).and_then(|fd| RealSys.setns(fd, flag, kind)) {
                die(sock, 125, format!("cannot join the {kind} namespace {path}: {e}"));
            }
        } else if made && unsafe { libc::unshare(flag) } < 0 {
            die(sock, 125, format!("cannot create the {kind} namespace: {}", std::io::Error::last_os_error()));
        }
    }
    // Cloned from our own new mount namespace (the one we ran in belongs to the initial user
    // namespace: we could enter the other's but not come back); this process is
    // single-threaded, as entering a mount namespace requires. The other container without a
    // /dev/shm (`--ipc none`): this one has none either.
    let shared_shm = match shm_from.map(|ns| ncx_core::nsenter::clone_mount_from(&mut RealSys, ns, "/dev/shm")) {
        Some(Ok(fd)) => Some(fd),
        Some(Err(e)) if e.errno == libc::ENOENT => None,
        Some(Err(e)) => die(sock, 125, format!("cannot share the other container's /dev/shm: {e}")),
        None => None,
    };
    // The plan's mount points and devices get exactly the modes it asks for (0755 directories,
    // 0644 files, 0666 /dev/null), as runc makes devices under umask 0: not ncx's umask 077,
    // which would shut a non-root container user out of them.
    unsafe { libc::umask(0) };
    let mut steps = plan(spec, rootfs, rootfs_mount);
    if let Some(fd) = shared_shm {
        ncx_core::plan::attach_before_pivot(&mut steps, fd, "/dev/shm");
    }
    if NO_PIVOT.load(std::sync::atomic::Ordering::Relaxed) {
        ncx_core::plan::move_root_instead_of_pivot(&mut steps);
    }
    if shared_mnt {
        ncx_core::plan::in_the_callers_mount_namespace(&mut steps);
    }
    if let Err(e) = execute(&mut RealSys, &steps) {
        die(sock, 125, format!("container setup failed: {e}"));
    }
    if let Some(path) = crate::ownns::path(spec) {
        use ncx_core::sys::Sys;
        if let Err(e) = RealSys.open_ns(path).and_then(|fd| RealSys.setns(fd, libc::CLONE_NEWUSER, "user")) {
            die(sock, 125, format!("cannot enter the container's user namespace: {e}"));
        }
    }
    let seccomp = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref());
    crate::bypass::install_in_child(); // --port-bypass: the bind filter (bypass.rs)
    exec_process(&process, seccomp, sock, pdeath, true)
}

/// `ncx-runtime init --state-fd N`: a container's PID 1 again, after `child` re-executed it
/// from a sealed copy of the runtime; its fds were kept open across the execve.
pub fn init(args: &Args) -> ! {
    let state = crate::sealed::read_state(args).unwrap_or_default();
    let fd = |k: &str| state[k].as_i64().map(|n| n as RawFd);
    let sock = fd("sock").unwrap_or(-1);
    for f in [Some(sock), fd("gate"), fd("bypass")].into_iter().flatten().filter(|f| *f >= 0) {
        ncx_core::sys::set_cloexec(f, true);
    }
    let spec: Spec = match serde_json::from_value(state["spec"].clone()) {
        Ok(s) => s,
        Err(e) => die(sock, 125, format!("invalid init state: {e}")),
    };
    if let Some(b) = fd("bypass").filter(|b| *b >= 0) {
        crate::bypass::set_control(b);
    }
    if let Some(f) = fd("execFifo").filter(|f| *f >= 0) {
        ncx_core::sys::set_cloexec(f, true);
        EXEC_FIFO.store(f, std::sync::atomic::Ordering::Relaxed);
        *START_HOOKS.lock().unwrap() = state["startHooks"].clone();
    }
    NO_PIVOT.store(state["noPivot"].as_bool().unwrap_or(false), std::sync::atomic::Ordering::Relaxed);
    SHARED_MOUNT_NS.store(state["sharedMountNs"].as_bool().unwrap_or(false), std::sync::atomic::Ordering::Relaxed);
    let mount = state["rootfsMount"].as_str().and_then(RootfsMount::parse);
    child(&spec, state["rootfs"].as_str().unwrap_or(""), mount.as_ref(), sock, state["pdeath"].as_bool().unwrap_or(false), fd("gate"), state["shmFrom"].as_str())
}

/// Terminal, credentials, capabilities, cwd, then execve (shared by run, exec and health
/// checks). Errors go to the parent over `sock` with Docker's exit codes (126/127).
/// `seccomp`: the container's profile. As runc does: without
/// no_new_privs the filter goes in while the process still has CAP_SYS_ADMIN (before the
/// credentials change, so those calls must pass it); with no_new_privs as late as possible,
/// right before execve.
/// `create_cwd`: make a missing working directory (`run -w`, as Docker's daemon does at
/// create); `exec` fails on one instead, as runc does.
pub(crate) fn exec_process(process: &Process, seccomp: Option<&ncx_core::spec::Seccomp>, sock: RawFd, pdeath: bool, create_cwd: bool) -> ! {
    // The process gets stdio and nothing else (Docker's and runc's rule): every other fd is
    // closed before anything is resolved in the container (an fd of a host directory is a
    // way out through /proc/self/fd/N, as the cwd or in a path). The error socket stays
    // until execve (close-on-exec).
    let fifo = EXEC_FIFO.load(std::sync::atomic::Ordering::Relaxed);
    let keep: Vec<RawFd> = [sock, fifo].into_iter().filter(|f| *f >= 0).collect();
    ncx_core::sys::close_fds_except(&keep);
    let filters = match seccomp.map(ncx_core::seccomp::compile) {
        Some(Ok(f)) => f,
        Some(Err(e)) => die(sock, 125, e.to_string()),
        None => Vec::new(),
    };
    let parent = unsafe { libc::getppid() };
    // Signals the supervisor blocked or ignored (Rust ignores SIGPIPE) must not leak into
    // the container: an ignored disposition and the mask survive execve.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if process.terminal {
        if let Err(e) = setup_terminal(sock, process.console_size) {
            die(sock, 125, e);
        }
    }
    if let Err(e) = set_rlimits(process).and_then(|_| check_capabilities(process)).and_then(|_| check_user(process)) {
        die(sock, 125, e);
    }
    if fifo >= 0 {
        crate::oci::wait_for_start(sock, fifo);
    }
    // Before the cwd is made: it is the container's, under the container's umask.
    unsafe { libc::umask(container_umask(process)) };
    let cwd = cstr(&process.cwd);
    // The working directory is made as runc makes it: resolved inside the container's root
    // (a symlink planted in the image leads inside it), missing directories created there.
    if create_cwd {
        use ncx_core::sys::Sys;
        if let Ok(t) = RealSys.prepare_target("/", &process.cwd, false) {
            RealSys.release_target(&t);
        }
    }
    if !process.no_new_privileges {
        if let Err(e) = ncx_core::seccomp::install(&filters) {
            die(sock, 125, e.to_string());
        }
    }
    if let Err(e) = apply_process(process) {
        die(sock, 125, e);
    }
    if unsafe { libc::chdir(cwd.as_ptr()) } < 0 {
        // runc's wording (docker exec -w /missing)
        let e = std::io::Error::last_os_error();
        let why = if e.raw_os_error() == Some(libc::ENOENT) { "no such file or directory".to_string() } else { e.to_string() };
        die(sock, 125, format!("chdir to cwd ({:?}) set in config.json failed: {why}", process.cwd));
    }
    // runc's check (CVE-2024-21626): the working directory must be inside the container's
    // root; a directory reached outside it has no path from there ("(unreachable)/…").
    if !cwd_inside_root() {
        die(sock, 125, format!("cwd {:?} is outside the container's root file system", process.cwd));
    }
    if process.args.is_empty() {
        die(sock, 125, "no command specified".into());
    }
    let path = match lookup(&process.args[0], &process.env) {
        Ok(p) => p,
        Err((code, msg)) => die(sock, code, msg),
    };
    let argv: Vec<CString> = process.args.iter().map(|a| cstr(a)).collect();
    let envp: Vec<CString> = process.env.iter().map(|e| cstr(e)).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let cpath = cstr(&path);
    if process.no_new_privileges {
        if let Err(e) = ncx_core::seccomp::install(&filters) {
            die(sock, 125, e.to_string());
        }
    }
    if pdeath {
        // Set last: a credential change clears it. If the parent is already gone, stop here.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
        if unsafe { libc::getppid() } != parent {
            unsafe { libc::_exit(137) };
        }
    }
    unsafe { libc::execve(cpath.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    let e = errno();
    let (code, why) = match e {
        libc::ENOENT => (127, "no such file or directory"),
        libc::EACCES | libc::ENOEXEC | libc::EPERM => (126, "permission denied"),
        _ => (126, "cannot execute binary file"),
    };
    die(sock, code, format!("exec: {:?}: {why}", process.args[0]))
}

/// `--pid host` (no pid namespace in the spec) and `--ns-join KIND=PATH,…` (`--pid`/`--ipc
/// container:X`, joined here): the clone flags the container must not get anew.
pub fn shared_namespaces(spec: &Spec, ns_join: Option<&str>) -> Result<libc::c_int, String> {
    let mut shared = if spec.has_namespace("pid") { 0 } else { libc::CLONE_NEWPID };
    if let Some(list) = ns_join {
        shared |= ncx_core::nsenter::join_paths(&mut RealSys, list).map_err(|e| format!("cannot join the other container's namespace: {e}"))?;
    }
    Ok(shared)
}
