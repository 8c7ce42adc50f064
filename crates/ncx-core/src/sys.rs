// Over 600 lines: one trait with every syscall the plan makes, its real implementation and the
// recording fake, which must change together.
//! Syscalls behind a trait: the real implementation and a recording fake for tests.

use std::ffi::CString;
use std::fmt;
use std::os::fd::RawFd;

/// A failed syscall: which operation, on what, and the errno.
#[derive(Debug, Clone, PartialEq)]
pub struct SysError {
    pub op: &'static str,
    pub target: String,
    pub errno: i32,
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = std::io::Error::from_raw_os_error(self.errno);
        if self.target.is_empty() {
            write!(f, "{}: {}", self.op, msg)
        } else {
            write!(f, "{} {}: {}", self.op, self.target, msg)
        }
    }
}

impl std::error::Error for SysError {}

pub type SysResult<T> = Result<T, SysError>;

pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

fn check(rc: libc::c_int, op: &'static str, target: &str) -> SysResult<libc::c_int> {
    if rc < 0 {
        Err(SysError { op, target: target.to_string(), errno: errno() })
    } else {
        Ok(rc)
    }
}

pub fn cstr(s: &str) -> CString {
    CString::new(s.as_bytes()).unwrap_or_else(|_| CString::new("?").unwrap())
}

/// The operations the container setup performs, in the order the plan dictates.
pub trait Sys {
    fn mount(&mut self, source: &str, target: &str, fstype: &str, flags: u64, data: &str) -> SysResult<()>;
    fn umount_detach(&mut self, target: &str) -> SysResult<()>;
    fn pivot_root(&mut self, new_root: &str) -> SysResult<()>;
    /// `--no-pivot`: move the mount at `new_root` onto `/` (MS_MOVE) and chroot into it.
    fn move_root(&mut self, new_root: &str) -> SysResult<()>;
    /// chroot into `new_root` (a container left in the runtime's mount namespace).
    fn chroot(&mut self, new_root: &str) -> SysResult<()>;
    fn sethostname(&mut self, name: &str) -> SysResult<()>;
    fn setdomainname(&mut self, name: &str) -> SysResult<()>;
    fn mkdir_all(&mut self, path: &str, mode: u32) -> SysResult<()>;
    fn touch(&mut self, path: &str) -> SysResult<()>;
    fn mknod(&mut self, path: &str, mode: u32, dev: u64) -> SysResult<()>;
    fn symlink(&mut self, target: &str, link: &str) -> SysResult<()>;
    fn chown(&mut self, path: &str, uid: u32, gid: u32) -> SysResult<()>;
    fn exists(&mut self, path: &str) -> bool;
    fn is_dir(&mut self, path: &str) -> bool;
    /// Resolve `rel` inside `root` without leaving it (symlinks resolve as if `root` were
    /// `/`), create it as a directory (or an empty file) when missing, and return a path
    /// that names exactly the resolved object.
    fn prepare_target(&mut self, root: &str, rel: &str, file: bool) -> SysResult<String>;
    /// Is some existing component of `rel`, walked inside `root` without following anything, a symlink?
    fn symlink_in_path(&mut self, root: &str, rel: &str) -> SysResult<bool>;
    /// Done with a target `prepare_target` returned (closes the fd it holds).
    fn release_target(&mut self, _target: &str) {}
    /// Remount `path` read-only, keeping the flags the kernel locks in a user namespace.
    fn remount_readonly(&mut self, path: &str) -> SysResult<()>;
    /// Write `value` to an existing file (a sysctl under /proc/sys).
    fn write_file(&mut self, path: &str, value: &str) -> SysResult<()> {
        std::fs::write(path, value).map_err(|e| SysError { op: "write", target: path.into(), errno: e.raw_os_error().unwrap_or(libc::EIO) })
    }
    /// The caller's mount table (/proc/self/mountinfo).
    fn mountinfo(&mut self) -> String {
        std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()
    }
    /// The identity of a namespace (`readlink /proc/PID/ns/KIND`, e.g. `mnt:[4026531841]`).
    fn ns_id(&mut self, path: &str) -> Option<String> {
        std::fs::read_link(path).ok().map(|p| p.to_string_lossy().into_owned())
    }
    /// Open a namespace file; the fd is what `setns` takes.
    fn open_ns(&mut self, path: &str) -> SysResult<RawFd> {
        let p = cstr(path);
        check(unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }, "open", path)
    }
    fn setns(&mut self, fd: RawFd, nstype: i32, what: &str) -> SysResult<()> {
        let rc = check(unsafe { libc::setns(fd, nstype) }, "setns", what).map(|_| ());
        unsafe { libc::close(fd) };
        rc
    }
    /// Bring a network interface of the caller's network namespace up (`ip link set NAME
    /// up`, over rtnetlink): the loopback of a container's own namespace.
    fn link_up(&mut self, name: &str) -> SysResult<()> {
        crate::rtnl::set_up(name).map_err(|errno| SysError { op: "set link up", target: name.into(), errno })
    }
    /// The identity of an open namespace (its device and inode): two fds name the same
    /// namespace exactly when their identities are equal.
    fn ns_ident(&mut self, fd: RawFd) -> SysResult<String> {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        check(unsafe { libc::fstat(fd, &mut st) }, "fstat namespace", "")?;
        Ok(format!("{}:{}", st.st_dev, st.st_ino))
    }
    /// The user namespace that owns the namespace open at `fd` (`NS_GET_USERNS`), as a new fd.
    fn ns_owner(&mut self, fd: RawFd) -> SysResult<RawFd> {
        check(unsafe { libc::ioctl(fd, libc::NS_GET_USERNS as _) }, "get the owning user namespace", "")
    }
    /// Close an fd `open_ns` or `ns_owner` returned that is not handed to `setns`.
    fn close_ns(&mut self, fd: RawFd) {
        unsafe { libc::close(fd) };
    }
    /// A detached copy of the mount tree at `path` (`open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)`):
    /// it can be attached in another mount namespace with `attach_tree`.
    fn clone_tree(&mut self, path: &str) -> SysResult<RawFd> {
        const OPEN_TREE_CLONE: libc::c_uint = 1;
        const AT_RECURSIVE: libc::c_uint = 0x8000;
        let p = cstr(path);
        let flags = OPEN_TREE_CLONE | AT_RECURSIVE | libc::O_CLOEXEC as libc::c_uint;
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, p.as_ptr(), flags) } as libc::c_int, "open_tree", path)
    }
    /// Mount a tree `clone_tree` returned on `target` (`move_mount`); closes `fd`.
    fn attach_tree(&mut self, fd: RawFd, target: &str) -> SysResult<()> {
        const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
        // The target is a /proc/self/fd/N magic link (prepare_target): follow it.
        const MOVE_MOUNT_T_SYMLINKS: libc::c_uint = 0x10;
        let (empty, t) = (cstr(""), cstr(target));
        let rc = unsafe { libc::syscall(libc::SYS_move_mount, fd, empty.as_ptr(), libc::AT_FDCWD, t.as_ptr(), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) } as libc::c_int;
        unsafe { libc::close(fd) };
        check(rc, "move_mount", target).map(|_| ())
    }
}

/// The real kernel.
pub struct RealSys;

impl Sys for RealSys {
    fn mount(&mut self, source: &str, target: &str, fstype: &str, flags: u64, data: &str) -> SysResult<()> {
        let (s, t, f, d) = (cstr(source), cstr(target), cstr(fstype), cstr(data));
        let rc = unsafe {
            libc::mount(
                if source.is_empty() { std::ptr::null() } else { s.as_ptr() },
                t.as_ptr(),
                if fstype.is_empty() { std::ptr::null() } else { f.as_ptr() },
                flags as libc::c_ulong,
                if data.is_empty() { std::ptr::null() } else { d.as_ptr() as *const libc::c_void },
            )
        };
        check(rc, "mount", target).map(|_| ())
    }

    fn umount_detach(&mut self, target: &str) -> SysResult<()> {
        let t = cstr(target);
        check(unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) }, "umount", target).map(|_| ())
    }

    fn pivot_root(&mut self, new_root: &str) -> SysResult<()> {
        // pivot_root(".", ".") then detach the old root: no directory for the old root is needed.
        let r = cstr(new_root);
        check(unsafe { libc::chdir(r.as_ptr()) }, "chdir", new_root)?;
        let dot = cstr(".");
        check(
            unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) as libc::c_int },
            "pivot_root",
            new_root,
        )?;
        // The old root turns rslave first, so its detach cannot propagate to the host's mounts
        // (a `shared` rootfsPropagation made them peers), as runc does.
        let empty = cstr("");
        check(
            unsafe { libc::mount(empty.as_ptr(), dot.as_ptr(), empty.as_ptr(), libc::MS_SLAVE | libc::MS_REC, std::ptr::null()) },
            "make the old root rslave",
            "",
        )?;
        check(unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) }, "umount old root", "")?;
        let slash = cstr("/");
        check(unsafe { libc::chdir(slash.as_ptr()) }, "chdir", "/").map(|_| ())
    }

    fn move_root(&mut self, new_root: &str) -> SysResult<()> {
        let r = cstr(new_root);
        check(unsafe { libc::chdir(r.as_ptr()) }, "chdir", new_root)?;
        let (slash, dot, empty) = (cstr("/"), cstr("."), cstr(""));
        check(unsafe { libc::mount(r.as_ptr(), slash.as_ptr(), empty.as_ptr(), libc::MS_MOVE, std::ptr::null()) }, "move the rootfs onto /", new_root)?;
        check(unsafe { libc::chroot(dot.as_ptr()) }, "chroot", new_root)?;
        check(unsafe { libc::chdir(slash.as_ptr()) }, "chdir", "/").map(|_| ())
    }

    fn chroot(&mut self, new_root: &str) -> SysResult<()> {
        let (r, dot, slash) = (cstr(new_root), cstr("."), cstr("/"));
        check(unsafe { libc::chdir(r.as_ptr()) }, "chdir", new_root)?;
        check(unsafe { libc::chroot(dot.as_ptr()) }, "chroot", new_root)?;
        check(unsafe { libc::chdir(slash.as_ptr()) }, "chdir", "/").map(|_| ())
    }

    fn sethostname(&mut self, name: &str) -> SysResult<()> {
        check(
            unsafe { libc::sethostname(name.as_ptr() as *const libc::c_char, name.len()) },
            "sethostname",
            name,
        )
        .map(|_| ())
    }

    fn setdomainname(&mut self, name: &str) -> SysResult<()> {
        check(unsafe { libc::setdomainname(name.as_ptr() as *const libc::c_char, name.len()) }, "setdomainname", name).map(|_| ())
    }

    fn mkdir_all(&mut self, path: &str, mode: u32) -> SysResult<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
            .map_err(|e| SysError { op: "mkdir", target: path.to_string(), errno: e.raw_os_error().unwrap_or(libc::EIO) })
    }

    fn touch(&mut self, path: &str) -> SysResult<()> {
        let p = cstr(path);
        let fd = check(
            unsafe { libc::open(p.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW, 0o644) },
            "create",
            path,
        )?;
        unsafe { libc::close(fd) };
        Ok(())
    }

    fn mknod(&mut self, path: &str, mode: u32, dev: u64) -> SysResult<()> {
        let p = cstr(path);
        check(unsafe { libc::mknod(p.as_ptr(), mode, dev as libc::dev_t) }, "mknod", path).map(|_| ())
    }

    fn symlink(&mut self, target: &str, link: &str) -> SysResult<()> {
        let (t, l) = (cstr(target), cstr(link));
        check(unsafe { libc::symlink(t.as_ptr(), l.as_ptr()) }, "symlink", link).map(|_| ())
    }

    fn chown(&mut self, path: &str, uid: u32, gid: u32) -> SysResult<()> {
        let p = cstr(path);
        check(unsafe { libc::lchown(p.as_ptr(), uid, gid) }, "chown", path).map(|_| ())
    }

    fn exists(&mut self, path: &str) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    fn is_dir(&mut self, path: &str) -> bool {
        std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
    }

    fn prepare_target(&mut self, root: &str, rel: &str, file: bool) -> SysResult<String> {
        use crate::unpack::open_in_root;
        use std::collections::VecDeque;
        use std::os::fd::AsRawFd;
        let err = |op: &'static str, e: std::io::Error| SysError { op, target: rel.to_string(), errno: e.raw_os_error().unwrap_or(libc::EIO) };
        let rootc = cstr(root);
        let raw = unsafe { libc::open(rootc.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        if raw < 0 {
            return Err(SysError { op: "open rootfs", target: root.to_string(), errno: errno() });
        }
        let rootfd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        let comps = |p: &str| -> Vec<String> { p.split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect() };
        // Walk component by component, as if `root` were `/` (securejoin's rules): a symlink
        // is read and its target spliced in (an absolute one restarts at the rootfs, `..`
        // stops there), so missing directories are created where the path really leads —
        // inside the rootfs, never through a link to the host.
        let mut todo: VecDeque<String> = comps(rel).into();
        let mut done: Vec<String> = Vec::new();
        let mut steps = 0;
        while let Some(comp) = todo.pop_front() {
            steps += 1;
            if steps > 255 {
                return Err(SysError { op: "resolve", target: rel.to_string(), errno: libc::ELOOP });
            }
            if comp == ".." {
                done.pop();
                continue;
            }
            let parent = open_in_root(rootfd.as_raw_fd(), &done.join("/"), libc::O_PATH | libc::O_DIRECTORY).map_err(|e| err("resolve", e))?;
            let name = cstr(&comp);
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstatat(parent.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } == 0 {
                if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                    let target = crate::tree::readlink_at(parent.as_raw_fd(), &name).map_err(|e| err("readlink", e))?;
                    let target = String::from_utf8_lossy(&target).into_owned();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    for c in comps(&target).into_iter().rev() {
                        todo.push_front(c);
                    }
                } else {
                    done.push(comp);
                }
                continue;
            }
            if errno() != libc::ENOENT {
                return Err(SysError { op: "resolve", target: rel.to_string(), errno: errno() });
            }
            let rc = if todo.is_empty() && file {
                let fd = unsafe { libc::openat(parent.as_raw_fd(), name.as_ptr(), libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0o644) };
                if fd >= 0 {
                    unsafe { libc::close(fd) };
                }
                fd
            } else {
                unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755) }
            };
            if rc < 0 && errno() != libc::EEXIST {
                return Err(SysError { op: "create mount point", target: rel.to_string(), errno: errno() });
            }
            // Look at what is there now (ours, or whatever won a race) on the next round.
            todo.push_front(comp);
        }
        if done.is_empty() {
            // A link that leads back to the rootfs itself (`/`, `..`): a mount there would
            // hide the whole container file system.
            return Err(SysError { op: "mount destination leads to the container's root:", target: rel.to_string(), errno: libc::EINVAL });
        }
        let done = done.join("/");
        // Held open (close-on-exec) until release_target: mount(2) gets the magic link
        // /proc/self/fd/N, which names this object and is never re-resolved by path.
        let fd = open_in_root(rootfd.as_raw_fd(), &done, libc::O_PATH).map_err(|e| err("resolve", e))?;
        Ok(format!("/proc/self/fd/{}", std::os::fd::IntoRawFd::into_raw_fd(fd)))
    }

    fn release_target(&mut self, target: &str) {
        if let Some(fd) = target.strip_prefix("/proc/self/fd/").and_then(|n| n.parse::<RawFd>().ok()) {
            unsafe { libc::close(fd) };
        }
    }

    fn symlink_in_path(&mut self, root: &str, rel: &str) -> SysResult<bool> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let rootc = cstr(root);
        let raw = unsafe { libc::open(rootc.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        if raw < 0 {
            return Err(SysError { op: "open rootfs", target: root.to_string(), errno: errno() });
        }
        let mut dir = unsafe { OwnedFd::from_raw_fd(raw) };
        for comp in rel.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let name = cstr(comp);
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
                return if errno() == libc::ENOENT { Ok(false) } else { Err(SysError { op: "lstat", target: rel.to_string(), errno: errno() }) };
            }
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                return Ok(true);
            }
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Ok(false);
            }
            let next = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
            if next < 0 {
                return Err(SysError { op: "open", target: rel.to_string(), errno: errno() });
            }
            dir = unsafe { OwnedFd::from_raw_fd(next) };
        }
        Ok(false)
    }

    fn remount_readonly(&mut self, path: &str) -> SysResult<()> {
        let p = cstr(path);
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        check(unsafe { libc::statvfs(p.as_ptr(), &mut st) }, "statvfs", path)?;
        let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
        for (st_flag, ms_flag) in [
            (libc::ST_NOSUID, libc::MS_NOSUID),
            (libc::ST_NODEV, libc::MS_NODEV),
            (libc::ST_NOEXEC, libc::MS_NOEXEC),
            (libc::ST_NOATIME, libc::MS_NOATIME),
            (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
            (ST_RELATIME, libc::MS_RELATIME),
        ] {
            if st.f_flag & st_flag != 0 {
                flags |= ms_flag;
            }
        }
        self.mount("", path, "", flags as u64, "")
    }
}

/// Records every call; fails the calls whose op+target are listed in `fail`.
///
/// Namespaces: `/proc/self/ns/*`, and the paths listed in `existing`, are "ours"; every
/// other namespace file is a namespace of its own. The owner of a process's namespaces is
/// its own user namespace unless `owners` says otherwise (`("/proc/8/ns/mnt", "self")`:
/// owned by our user namespace). `open` lists the namespace fds not closed yet.
#[derive(Default)]
pub struct RecordingSys {
    pub calls: Vec<String>,
    pub fail: Vec<(String, i32)>,
    pub existing: Vec<String>,
    /// Paths (rootfs + destination, as `prepare` prints them) that are symlinks in the image.
    pub symlinks: Vec<String>,
    pub owners: Vec<(String, String)>,
    pub open: Vec<(RawFd, String)>,
    /// What `mountinfo` returns.
    pub mountinfo: String,
}

impl RecordingSys {
    fn record(&mut self, call: String) -> SysResult<()> {
        let failing = self.fail.iter().find(|(prefix, _)| call.starts_with(prefix.as_str())).cloned();
        self.calls.push(call.clone());
        match failing {
            Some((_, errno)) => Err(SysError { op: "fake", target: call, errno }),
            None => Ok(()),
        }
    }
}

impl Sys for RecordingSys {
    fn mount(&mut self, source: &str, target: &str, fstype: &str, flags: u64, data: &str) -> SysResult<()> {
        self.record(format!("mount {source} {target} {fstype} {flags:#x} {data}"))
    }
    fn umount_detach(&mut self, target: &str) -> SysResult<()> {
        self.record(format!("umount {target}"))
    }
    fn pivot_root(&mut self, new_root: &str) -> SysResult<()> {
        self.record(format!("pivot_root {new_root}"))
    }
    fn move_root(&mut self, new_root: &str) -> SysResult<()> {
        self.record(format!("move_root {new_root}"))
    }
    fn chroot(&mut self, new_root: &str) -> SysResult<()> {
        self.record(format!("chroot {new_root}"))
    }
    fn sethostname(&mut self, name: &str) -> SysResult<()> {
        self.record(format!("sethostname {name}"))
    }
    fn setdomainname(&mut self, name: &str) -> SysResult<()> {
        self.record(format!("setdomainname {name}"))
    }
    fn mkdir_all(&mut self, path: &str, mode: u32) -> SysResult<()> {
        self.existing.push(path.to_string());
        self.record(format!("mkdir {path} {mode:o}"))
    }
    fn touch(&mut self, path: &str) -> SysResult<()> {
        self.existing.push(path.to_string());
        self.record(format!("touch {path}"))
    }
    fn mknod(&mut self, path: &str, mode: u32, dev: u64) -> SysResult<()> {
        self.record(format!("mknod {path} {mode:o} {dev}"))
    }
    fn symlink(&mut self, target: &str, link: &str) -> SysResult<()> {
        self.record(format!("symlink {target} {link}"))
    }
    fn chown(&mut self, path: &str, uid: u32, gid: u32) -> SysResult<()> {
        self.record(format!("chown {path} {uid}:{gid}"))
    }
    fn exists(&mut self, path: &str) -> bool {
        self.existing.iter().any(|p| p == path)
    }
    fn is_dir(&mut self, path: &str) -> bool {
        self.exists(path)
    }
    fn prepare_target(&mut self, root: &str, rel: &str, _file: bool) -> SysResult<String> {
        let path = format!("{}/{}", root.trim_end_matches('/'), rel.trim_start_matches('/'));
        self.record(format!("prepare {path}"))?;
        Ok(path)
    }
    fn symlink_in_path(&mut self, root: &str, rel: &str) -> SysResult<bool> {
        let path = format!("{}/{}", root.trim_end_matches('/'), rel.trim_start_matches('/'));
        Ok(self.symlinks.iter().any(|l| path == *l || path.starts_with(&format!("{l}/"))))
    }
    fn remount_readonly(&mut self, path: &str) -> SysResult<()> {
        self.record(format!("remount_ro {path}"))
    }
    fn mountinfo(&mut self) -> String {
        self.calls.push("mountinfo".into());
        self.mountinfo.clone()
    }
    fn write_file(&mut self, path: &str, value: &str) -> SysResult<()> {
        self.record(format!("write {path} {value}"))
    }
    fn ns_id(&mut self, path: &str) -> Option<String> {
        // Our own namespaces, and those listed in `existing`, are "the same as ours".
        if path.starts_with("/proc/self/") || self.existing.iter().any(|p| p == path) {
            Some("same".into())
        } else {
            Some(format!("other:{path}"))
        }
    }
    fn open_ns(&mut self, path: &str) -> SysResult<RawFd> {
        self.record(format!("open {path}"))?;
        let fd = 100 + self.calls.len() as RawFd;
        self.open.push((fd, path.to_string()));
        Ok(fd)
    }
    fn setns(&mut self, fd: RawFd, _nstype: i32, what: &str) -> SysResult<()> {
        self.open.retain(|(f, _)| *f != fd);
        self.record(format!("setns {what}"))
    }
    fn ns_ident(&mut self, fd: RawFd) -> SysResult<String> {
        let path = self.open.iter().find(|(f, _)| *f == fd).map(|(_, p)| p.clone()).unwrap_or_default();
        if let Some(owner) = path.strip_prefix("owner:") {
            return Ok(owner.to_string());
        }
        let ours = path.starts_with("/proc/self/") || self.existing.iter().any(|p| *p == path);
        Ok(if ours { format!("self:{}", path.rsplit('/').next().unwrap_or("")) } else { path })
    }
    fn ns_owner(&mut self, fd: RawFd) -> SysResult<RawFd> {
        let path = self.open.iter().find(|(f, _)| *f == fd).map(|(_, p)| p.clone()).unwrap_or_default();
        self.record(format!("owner {path}"))?;
        let owner = match self.owners.iter().find(|(p, _)| *p == path) {
            Some((_, o)) if o == "self" => "self:user".to_string(),
            Some((_, o)) => o.clone(),
            None => {
                let user = format!("{}/user", path.rsplit_once('/').map(|(d, _)| d).unwrap_or(""));
                let ours = user.starts_with("/proc/self/") || self.existing.iter().any(|p| *p == user);
                if ours { "self:user".to_string() } else { user }
            }
        };
        let fd = 100 + self.calls.len() as RawFd;
        self.open.push((fd, format!("owner:{owner}")));
        Ok(fd)
    }
    fn close_ns(&mut self, fd: RawFd) {
        self.open.retain(|(f, _)| *f != fd);
    }
    fn clone_tree(&mut self, path: &str) -> SysResult<RawFd> {
        self.record(format!("clone_tree {path}"))?;
        Ok(200 + self.calls.len() as RawFd)
    }
    fn attach_tree(&mut self, _fd: RawFd, target: &str) -> SysResult<()> {
        self.record(format!("attach_tree {target}"))
    }
    fn link_up(&mut self, name: &str) -> SysResult<()> {
        self.record(format!("link_up {name}"))
    }
}

/// Close-on-exec aware helpers used by the runtime binary.
pub fn set_cloexec(fd: RawFd, on: bool) {
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 {
            let nf = if on { flags | libc::FD_CLOEXEC } else { flags & !libc::FD_CLOEXEC };
            libc::fcntl(fd, libc::F_SETFD, nf);
        }
    }
}

/// Close every descriptor from 3 up except those in `keep` (a container's process starts with
/// stdio only: an inherited descriptor, a directory in particular, is a way out of its root
/// through /proc/self/fd/N). close_range(2) where the kernel has it (5.9+), else each
/// descriptor below the soft RLIMIT_NOFILE. Only async-signal-safe calls and no allocation:
/// usable after fork.
pub fn close_fds_except(keep: &[RawFd]) {
    let mut first: RawFd = 3;
    loop {
        // The lowest kept descriptor at or above `first` ends this range.
        let next = keep.iter().copied().filter(|k| *k >= first).min();
        let last = next.map_or(RawFd::MAX, |k| k - 1);
        if first <= last {
            close_range(first, last);
        }
        match next {
            Some(k) if k < RawFd::MAX => first = k + 1,
            _ => break,
        }
    }
}

/// statvfs(3)'s ST_RELATIME (the kernel's value); the libc crate defines it for glibc only.
const ST_RELATIME: libc::c_ulong = 0x1000;

fn close_range(first: RawFd, last: RawFd) {
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first as libc::c_uint, last as libc::c_uint, 0 as libc::c_uint) };
    if rc == 0 {
        return;
    }
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    let top = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 { lim.rlim_cur.min(1 << 20) as RawFd } else { 1024 };
    for fd in first..=last.min(top) {
        unsafe { libc::close(fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a forked child (the test harness is multithreaded and its own fds must stay open):
    /// fds 100 and 1000 are closed, the kept ones and stdio stay.
    #[test]
    fn close_fds_except_keeps_stdio_and_the_ones_asked_for() {
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                for fd in [100, 1000, 57, 58, 60] {
                    libc::dup2(null, fd);
                }
                close_fds_except(&[60, 57, 58]);
                let open = |fd: RawFd| libc::fcntl(fd, libc::F_GETFD) >= 0;
                let ok = !open(100) && !open(1000) && !open(null) && open(57) && open(58) && open(60) && open(0) && open(1) && open(2);
                close_fds_except(&[]);
                libc::_exit(if ok && !open(57) && !open(60) { 0 } else { 1 });
            }
        }
        let mut st = 0;
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "status {st:#x}");
    }
}
