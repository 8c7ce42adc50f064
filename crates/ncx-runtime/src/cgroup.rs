//! The container's cgroup from the runtime's side: create it (limits written) before the
//! container's first process exists, clone that process straight into it
//! (`clone3(CLONE_INTO_CGROUP)`, so nothing runs outside its limits even for a moment), read
//! the OOM-kill count, and remove it (`cgroup.kill` first) when the container is gone.

use ncx_core::cgroup::{self, RealFs};
use ncx_core::spec::Spec;
use std::os::fd::RawFd;

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// A created container cgroup.
pub struct Placement {
    pub dir: String,
    fd: RawFd,
    /// memory.events oom_kill when the container started.
    oom_base: u64,
}

impl Placement {
    /// True when the kernel OOM-killed something in the cgroup since `start`.
    pub fn oom_killed(&self) -> bool {
        cgroup::oom_kills(&mut RealFs, &self.dir) > self.oom_base
    }

    /// Count from now (a restarted container starts clean).
    pub fn rebase(&mut self) {
        self.oom_base = cgroup::oom_kills(&mut RealFs, &self.dir);
    }

    /// A placement that names `dir` and holds nothing (the tests' fake Sys, sys.rs).
    #[cfg(test)]
    pub fn fake(dir: String) -> Placement {
        Placement { dir, fd: -1, oom_base: 0 }
    }

    /// Kill what is left and remove the cgroup; a message when it could not be removed.
    pub fn destroy(self) -> Option<String> {
        unsafe { libc::close(self.fd) };
        cgroup::destroy(&mut RealFs, &self.dir).err().map(|e| e.to_string())
    }
}

/// Create the cgroup the spec names (`linux.cgroupsPath`, relative to the cgroup2 root).
pub fn prepare(spec: &Spec) -> Result<Option<Placement>, String> {
    let Some(linux) = spec.linux.as_ref() else { return Ok(None) };
    if linux.cgroups_path.is_empty() {
        return Ok(None);
    }
    let dir = cgroup::create(&mut RealFs, &linux.cgroups_path, linux.resources.as_ref()).map_err(|e| e.to_string())?;
    let c = ncx_core::sys::cstr(&dir);
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("cgroup: open {dir}: {}", std::io::Error::last_os_error()));
    }
    if let Some(rules) = linux.resources.as_ref().map(|r| &r.devices).filter(|d| !d.is_empty()) {
        match ncx_core::devices::attach(fd, rules) {
            Ok(()) => {}
            // Loading a device program needs CAP_BPF and CAP_SYS_ADMIN in the initial user
            // namespace: rootless, the rules cannot be enforced (runc ignores this failure too).
            Err(e) if matches!(e.err.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES)) && !root_of_the_host() => {}
            Err(e) => {
                unsafe { libc::close(fd) };
                let _ = cgroup::destroy(&mut RealFs, &dir);
                return Err(e.to_string());
            }
        }
    }
    let oom_base = cgroup::oom_kills(&mut RealFs, &dir);
    Ok(Some(Placement { dir, fd, oom_base }))
}

/// Is this process root in the initial user namespace (its uid_map the identity of all ids)?
fn root_of_the_host() -> bool {
    (unsafe { libc::geteuid() }) == 0 && std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

/// fork/clone with `flags` (namespaces), the child starting inside `placement`'s cgroup.
/// Returns the pid (0 in the child), or -1 with errno set.
pub fn clone_into(flags: libc::c_int, placement: Option<&Placement>) -> i32 {
    let Some(p) = placement else {
        return unsafe { libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) } as i32;
    };
    let mut args = CloneArgs { flags: flags as u64 | CLONE_INTO_CGROUP, exit_signal: libc::SIGCHLD as u64, cgroup: p.fd as u64, ..Default::default() };
    let pid = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) } as i32;
    if pid >= 0 {
        return pid;
    }
    let e = ncx_core::sys::errno();
    if e != libc::ENOSYS && e != libc::E2BIG && e != libc::EINVAL {
        return -1;
    }
    // Kernels before 5.7: clone, then the child moves itself before doing anything else.
    let pid = unsafe { libc::syscall(libc::SYS_clone, (flags | libc::SIGCHLD) as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) } as i32;
    if pid == 0 {
        if let Err(e) = std::fs::write(format!("{}/cgroup.procs", p.dir), "0") {
            let msg = format!("ncx-runtime: cannot move the container into {}: {e}\n", p.dir);
            unsafe {
                libc::write(2, msg.as_ptr() as *const libc::c_void, msg.len());
                libc::_exit(125);
            }
        }
    }
    pid
}
