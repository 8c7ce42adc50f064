//! Starting the container's PID 1 for the monitor, on every start and restart: cloned into
//! new namespaces (a fresh PID namespace each time) with pipes for its stdio (or the pty
//! master it sends back), its network attached while it waits at its gate; or through an
//! external OCI runtime (external.rs).

use super::{close, dev_null, err, pipe, Config, MonitorError};
use crate::run::child;
use crate::sys::Sys;
use std::os::fd::RawFd;
use std::time::Instant;

/// The container's process and the monitor's ends of its stdio.
pub(super) struct Running {
    pub(super) pid: i32,
    /// stdout pipe, or the pty master with a terminal.
    pub(super) out: Option<RawFd>,
    pub(super) err: Option<RawFd>,
    /// Write end of a stdin pipe held open (`-i` without `-t`): the container sees no EOF.
    pub(super) stdin: Option<RawFd>,
    pub(super) tty: bool,
    pub(super) started: Instant,
}

/// Clone the container's PID 1 into new namespaces (a fresh PID namespace on every start,
/// which `unshare` could not give twice) and wait until it has exec'd or failed.
pub(super) fn start_container(cfg: &Config) -> Result<Running, MonitorError> {
    if let Some(ext) = &cfg.external {
        return start_external(cfg, ext);
    }
    start_with(&mut crate::sys::RealSys, cfg)
}

/// `start_container` with ncx's own runtime, every call through `sys`. On an error every
/// descriptor it opened is closed (the monitor lives on, and tries again on a restart).
pub(super) fn start_with(sys: &mut dyn Sys, cfg: &Config) -> Result<Running, MonitorError> {
    let mut spec = cfg.spec.clone();
    let own_userns = sys.own_userns(&mut spec).map_err(|e| err(125, e))?;
    let mut opened: Vec<RawFd> = own_userns.into_iter().collect();
    let fail = |sys: &mut dyn Sys, opened: &[RawFd], e: MonitorError| -> Result<Running, MonitorError> {
        for fd in opened {
            sys.close(*fd);
        }
        Err(e)
    };
    let mut flags = libc::CLONE_NEWPID;
    // (the cgroup namespace is the child's own, see run::child)
    for (kind, flag) in [("uts", libc::CLONE_NEWUTS), ("ipc", libc::CLONE_NEWIPC), ("network", libc::CLONE_NEWNET)] {
        if cfg.spec.has_namespace(kind) {
            flags |= flag;
        }
    }
    if let Some(path) = &cfg.net_join {
        // The monitor itself moves there (again on every restart), so its clone shares it.
        if let Err(e) = sys.join_netns(path) {
            return fail(sys, &opened, err(125, e));
        }
        flags &= !libc::CLONE_NEWNET;
    }
    match sys.shared_namespaces(&cfg.spec, cfg.ns_join.as_deref()) {
        Ok(shared) => flags &= !shared,
        Err(e) => return fail(sys, &opened, err(125, e)),
    }
    let terminal = cfg.spec.process.as_ref().map(|p| p.terminal).unwrap_or(false);
    let os = |what: &str, e: i32| err(125, format!("{what}: {}", std::io::Error::from_raw_os_error(e)));
    let pair = match sys.socketpair() {
        Ok(p) => p,
        Err(e) => return fail(sys, &opened, os("socketpair", e)),
    };
    opened.extend([pair.0, pair.1]);
    // (ours, theirs) for stdout, stderr and stdin.
    let pipe = |sys: &mut dyn Sys, opened: &mut Vec<RawFd>| -> Result<(RawFd, RawFd), i32> {
        let p = sys.pipe()?;
        opened.extend([p.0, p.1]);
        Ok(p)
    };
    let (out, err_, stdin, gate) = match (|| {
        let (out, err_) = if terminal { (None, None) } else { (Some(pipe(sys, &mut opened)?), Some(pipe(sys, &mut opened)?)) };
        let stdin = if !terminal && cfg.stdin_open { Some(pipe(sys, &mut opened)?) } else { None };
        let gate = if cfg.attach.is_some() { Some(pipe(sys, &mut opened)?) } else { None };
        Ok::<_, i32>((out, err_, stdin, gate))
    })() {
        Ok(p) => p,
        Err(e) => return fail(sys, &opened, os("pipe", e)),
    };
    let null = sys.open_null();
    opened.push(null);
    let pid = match sys.clone_into(flags, cfg.cgroup.as_ref()) {
        Ok(pid) => pid,
        Err(e) => return fail(sys, &opened, os("cannot create the container's namespaces", e)),
    };
    if pid == 0 {
        // The container's PID 1 (never with the tests' fake): real calls from here on.
        unsafe {
            libc::close(pair.0);
            libc::dup2(stdin.map(|p| p.0).unwrap_or(null), 0);
            libc::dup2(out.map(|p| p.1).unwrap_or(null), 1);
            libc::dup2(err_.map(|p| p.1).unwrap_or(null), 2);
        }
        close(gate.map(|g| g.1));
        child(&spec, &cfg.rootfs, cfg.rootfs_mount.as_ref(), pair.1, true, gate.map(|g| g.0), cfg.shm_from.as_deref());
    }
    // The child's ends (and what it alone needed) go; ours stay until the verdict.
    let theirs: Vec<RawFd> = own_userns.into_iter().chain([pair.1, null]).chain([out.map(|p| p.1), err_.map(|p| p.1), stdin.map(|p| p.0)].into_iter().flatten()).collect();
    for fd in &theirs {
        sys.close(*fd);
    }
    opened.retain(|f| !theirs.contains(f));
    if let (Some((gr, gw)), Some(a)) = (gate, &cfg.attach) {
        sys.close(gr);
        opened.retain(|f| *f != gr);
        if let Err(e) = sys.net_attach(a, pid) {
            sys.close(gw);
            sys.close(pair.0);
            opened.retain(|f| *f != gw && *f != pair.0);
            sys.kill(pid, libc::SIGKILL);
            sys.waitpid(pid);
            return fail(sys, &opened, err(125, e));
        }
        sys.write(gw, b"g");
        sys.close(gw);
        opened.retain(|f| *f != gw);
    }
    let (master, failure) = sys.receive(pair.0);
    sys.close(pair.0);
    opened.retain(|f| *f != pair.0);
    if let Some((code, msg)) = failure {
        sys.waitpid(pid);
        opened.extend(master);
        return fail(sys, &opened, err(code, msg));
    }
    let out = master.or(out.map(|p| p.0));
    for fd in [out, err_.map(|p| p.0)].into_iter().flatten() {
        sys.set_nonblock(fd);
    }
    Ok(Running { pid, out, err: err_.map(|p| p.0), stdin: stdin.map(|p| p.1), tty: terminal, started: Instant::now() })
}

/// `start_container` through an external OCI runtime: the same pipes, its process.
pub(super) fn start_external(cfg: &Config, ext: &crate::external::External) -> Result<Running, MonitorError> {
    if cfg.shm_from.is_some() {
        return Err(err(125, format!("--ipc container: is not supported with --runtime {}", ext.name)));
    }
    let terminal = cfg.spec.process.as_ref().map(|p| p.terminal).unwrap_or(false);
    let (out, err_) = if terminal { (None, None) } else { (Some(pipe()?), Some(pipe()?)) };
    let stdin = if !terminal && cfg.stdin_open { Some(pipe()?) } else { None };
    let null = dev_null();
    let spec_file = format!("{}/config.json", cfg.bundle);
    let launch = crate::external::Launch {
        spec_file: &spec_file,
        rootfs: &cfg.rootfs,
        rootfs_mount: cfg.rootfs_mount.as_ref(),
        stdio: [stdin.map(|p| p.0).unwrap_or(null), out.map(|p| p.1).unwrap_or(null), err_.map(|p| p.1).unwrap_or(null)],
        terminal,
        net_join: cfg.net_join.as_deref(),
        ns_join: cfg.ns_join.as_deref(),
        attach: cfg.attach.as_ref(),
    };
    let started = ext.start(&launch);
    close(Some(null));
    close(out.map(|p| p.1));
    close(err_.map(|p| p.1));
    close(stdin.map(|p| p.0));
    let s = match started {
        Ok(s) => s,
        Err((code, msg)) => {
            close(out.map(|p| p.0));
            close(err_.map(|p| p.0));
            close(stdin.map(|p| p.1));
            return Err(err(code, msg));
        }
    };
    let out = s.master.or(out.map(|p| p.0));
    for fd in [out, err_.map(|p| p.0)].into_iter().flatten() {
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    }
    Ok(Running { pid: s.pid, out, err: err_.map(|p| p.0), stdin: stdin.map(|p| p.1), tty: terminal, started: Instant::now() })
}
