// Over 600 lines: 550 of code (the plan and its execution, which must stay in one order in one
// place) and 400 of unit tests through the recording Sys.
//! From an OCI spec to an ordered list of filesystem steps, and their execution through
//! the `Sys` trait. The order is what makes a container safe: the rootfs and every mount
//! are in place before pivot_root; masked and read-only paths come after it, so nothing
//! in the image can undo them; the hostname is set last.

use crate::spec::{Mount, Spec};
use crate::sys::{Sys, SysError};

#[derive(Debug, Clone, PartialEq)]
pub struct RootfsMount {
    pub fstype: String,
    pub source: String,
    pub data: String,
}

impl RootfsMount {
    /// Parse `overlay:lowerdir=…,upperdir=…,workdir=…` (fstype, then mount data).
    pub fn parse(text: &str) -> Option<RootfsMount> {
        let (fstype, data) = text.split_once(':')?;
        if fstype.is_empty() {
            return None;
        }
        Some(RootfsMount { fstype: fstype.into(), source: fstype.into(), data: data.into() })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The container's own network namespace starts with `lo` down: bring it up (as runc,
    /// Docker and podman do), so 127.0.0.1 works even with `--network none`.
    LoopbackUp,
    RootPropagation { flags: u64 },
    /// The mount the rootfs lives on is made private when it is shared (runc's
    /// rootfsParentMountPrivate): pivot_root refuses a new root whose parent mount is shared
    /// (`rootfsPropagation: shared`), and the rootfs bind must not propagate to the host.
    PrivateParent { path: String },
    MountRootfs { mount: RootfsMount, target: String },
    BindRootfs { path: String },
    /// `dest` is relative to the rootfs and resolved inside it at execution time.
    /// `propagation`: MS_PRIVATE/MS_SHARED/MS_SLAVE (| MS_REC) applied to the new mount, or 0.
    /// `fallback`: a host path bound (recursively) instead when the kernel refuses the mount
    /// (sysfs, mqueue, cgroup2 from a user namespace; runc's way).
    Mount { dest: String, source: String, fstype: String, flags: u64, data: String, readonly: bool, fallback: Option<String>, propagation: u64 },
    Device { dest: String, mode: u32, major: u64, minor: u64, uid: u32, gid: u32 },
    Symlink { target: String, link: String },
    PivotRoot { rootfs: String },
    /// `--no-pivot` (runc's msMoveRoot): the full proc and sysfs mounts outside the rootfs are
    /// detached (or covered by a tmpfs where they cannot be), so a new proc mount cannot be
    /// allowed by one the container can no longer see; then the rootfs moves onto `/` and the
    /// process chroots into it. For a rootfs on a file system pivot_root refuses (a ramdisk).
    MoveRoot { rootfs: String },
    /// A config without a mount namespace (the container inherits the runtime's, as the spec
    /// says): chroot, since pivot_root or a move there would change the host's root.
    Chroot { rootfs: String },
    /// The rootfs the following steps resolve in, with nothing mounted (`Chroot`'s plans).
    UseRootfs { path: String },
    /// A detached mount tree (`Sys::clone_tree`, fd) attached at `dest` inside the rootfs:
    /// another container's /dev/shm for `--ipc container:X`.
    AttachTree { fd: i32, dest: String },
    /// A namespaced sysctl, written under /proc/sys before it is made read-only.
    Sysctl { key: String, value: String },
    Mask { path: String },
    ReadOnly { path: String },
    RootReadOnly,
    Hostname { name: String },
    /// `--domainname`: the UTS namespace's NIS domain name.
    Domainname { name: String },
}

const DEFAULT_DEVICES: [(&str, u64, u64); 6] =
    [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)];

const DEV_LINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// The propagation option among OCI mount options (the last one wins), as mount(2) flags.
pub fn propagation_flags(options: &[String]) -> u64 {
    let mut out = 0u64;
    for o in options {
        out = match o.as_str() {
            "private" => libc::MS_PRIVATE as u64,
            "rprivate" => (libc::MS_PRIVATE | libc::MS_REC) as u64,
            "shared" => libc::MS_SHARED as u64,
            "rshared" => (libc::MS_SHARED | libc::MS_REC) as u64,
            "slave" => libc::MS_SLAVE as u64,
            "rslave" => (libc::MS_SLAVE | libc::MS_REC) as u64,
            _ => out,
        };
    }
    out
}

/// Split OCI mount options into mount(2) flags and the filesystem's data string.
pub fn mount_flags(options: &[String]) -> (u64, String, bool) {
    let mut flags = 0u64;
    let mut data: Vec<&str> = Vec::new();
    let mut readonly = false;
    for o in options {
        let f = match o.as_str() {
            "ro" => {
                readonly = true;
                0
            }
            "rw" | "defaults" => 0,
            "nosuid" => libc::MS_NOSUID,
            "nodev" => libc::MS_NODEV,
            "noexec" => libc::MS_NOEXEC,
            "sync" => libc::MS_SYNCHRONOUS,
            "relatime" => libc::MS_RELATIME,
            "noatime" => libc::MS_NOATIME,
            "strictatime" => libc::MS_STRICTATIME,
            "bind" => libc::MS_BIND,
            "rbind" => libc::MS_BIND | libc::MS_REC,
            "nodiratime" => libc::MS_NODIRATIME,
            "dirsync" => libc::MS_DIRSYNC,
            // Propagation is a step of its own; the rest only clear flags nobody set.
            "private" | "rprivate" | "slave" | "rslave" | "shared" | "rshared" => 0,
            "exec" | "suid" | "dev" | "atime" | "diratime" | "async" | "norelatime" | "nostrictatime" => 0,
            other => {
                data.push(other);
                0
            }
        };
        flags |= f as u64;
    }
    (flags, data.join(","), readonly)
}

fn mount_step(m: &Mount, cgroup_dir: Option<&str>) -> Step {
    let (mut flags, data, readonly) = mount_flags(&m.options);
    let fstype = if m.kind.is_empty() && flags & libc::MS_BIND as u64 != 0 { "bind".to_string() } else { m.kind.clone() };
    if fstype == "bind" {
        flags |= libc::MS_BIND as u64;
    }
    // sysfs needs a network namespace owned by our user namespace; with the host's
    // network (rootless) fall back to a recursive bind of the host's /sys, as runc does.
    // cgroup2 is refused from a user namespace without a cgroup namespace of its own (EPERM),
    // and onto the host's cgroup2 mount that a bind of /sys brought along (EBUSY: the same
    // superblock on the same mount point; `runc spec --rootless`'s /sys): the container's own
    // cgroup is bound instead, which is what a cgroup namespace would show (runc's emulation).
    let fallback = match fstype.as_str() {
        "sysfs" => Some("/sys".to_string()),
        "mqueue" => Some("/dev/mqueue".to_string()),
        "cgroup2" => Some(cgroup_dir.map_or_else(|| crate::cgroup::ROOT.to_string(), str::to_string)),
        _ => None,
    };
    let propagation = propagation_flags(&m.options);
    Step::Mount { dest: m.destination.clone(), source: m.source.clone(), fstype, flags, data, readonly, fallback, propagation }
}

/// The filesystem steps for `spec`, with the rootfs at `rootfs` (a host path).
pub fn plan(spec: &Spec, rootfs: &str, rootfs_mount: Option<&RootfsMount>) -> Vec<Step> {
    let mut steps = Vec::new();
    let linux = spec.linux.clone().unwrap_or_default();
    if spec.has_namespace("network") {
        steps.push(Step::LoopbackUp);
    }
    let prop = match linux.rootfs_propagation.as_str() {
        "shared" | "rshared" => libc::MS_SHARED,
        "private" | "rprivate" => libc::MS_PRIVATE,
        _ => libc::MS_SLAVE,
    };
    steps.push(Step::RootPropagation { flags: (prop | libc::MS_REC) as u64 });
    steps.push(Step::PrivateParent { path: rootfs.to_string() });
    match rootfs_mount {
        Some(m) => steps.push(Step::MountRootfs { mount: m.clone(), target: rootfs.to_string() }),
        None => steps.push(Step::BindRootfs { path: rootfs.to_string() }),
    }
    let mut has_dev_tmpfs = false;
    // The container's cgroup (cgroupsPath, created before these steps run), seen from the host.
    let cgroup_dir = (!linux.cgroups_path.is_empty() && spec.has_namespace("cgroup")).then(|| crate::cgroup::dir(&linux.cgroups_path));
    for m in &spec.mounts {
        if m.destination == "/dev" && m.kind == "tmpfs" {
            has_dev_tmpfs = true;
        }
        steps.push(mount_step(m, cgroup_dir.as_deref()));
    }
    if has_dev_tmpfs {
        let mut devices: Vec<Step> = DEFAULT_DEVICES
            .iter()
            .map(|(p, maj, min)| Step::Device { dest: p.to_string(), mode: libc::S_IFCHR | 0o666, major: *maj, minor: *min, uid: 0, gid: 0 })
            .collect();
        for d in &linux.devices {
            let fmt = match d.kind.as_str() {
                "b" => libc::S_IFBLK,
                "p" => libc::S_IFIFO,
                _ => libc::S_IFCHR,
            };
            devices.retain(|s| !matches!(s, Step::Device { dest, .. } if *dest == d.path));
            devices.push(Step::Device {
                dest: d.path.clone(),
                mode: fmt | d.file_mode.unwrap_or(0o666),
                major: d.major.max(0) as u64,
                minor: d.minor.max(0) as u64,
                uid: d.uid.unwrap_or(0),
                gid: d.gid.unwrap_or(0),
            });
        }
        steps.extend(devices);
        for (target, link) in DEV_LINKS {
            steps.push(Step::Symlink { target: target.into(), link: link.into() });
        }
    }
    steps.push(Step::PivotRoot { rootfs: rootfs.to_string() });
    for (key, value) in &linux.sysctl {
        steps.push(Step::Sysctl { key: key.clone(), value: value.clone() });
    }
    for p in &linux.masked_paths {
        steps.push(Step::Mask { path: p.clone() });
    }
    for p in &linux.readonly_paths {
        steps.push(Step::ReadOnly { path: p.clone() });
    }
    if spec.root.as_ref().map(|r| r.readonly).unwrap_or(false) {
        steps.push(Step::RootReadOnly);
    }
    if spec.has_namespace("uts") && !spec.hostname.is_empty() {
        steps.push(Step::Hostname { name: spec.hostname.clone() });
    }
    if spec.has_namespace("uts") && !spec.domainname.is_empty() {
        steps.push(Step::Domainname { name: spec.domainname.clone() });
    }
    steps
}

/// Attach a cloned mount tree at `dest` once every spec mount is in place, before pivot_root
/// (so it lands inside the rootfs and under any read-only remount that follows).
pub fn attach_before_pivot(steps: &mut Vec<Step>, fd: i32, dest: &str) {
    let at = steps.iter().position(|s| matches!(s, Step::PivotRoot { .. } | Step::MoveRoot { .. } | Step::Chroot { .. })).unwrap_or(steps.len());
    steps.insert(at, Step::AttachTree { fd, dest: dest.to_string() });
}

/// The mount point `path` lives on, per /proc/self/mountinfo's text (the longest mount point
/// that is `path` or one of its parents), and whether it is shared (a `shared:N` tag).
pub fn parent_mount(mountinfo: &str, path: &str) -> Option<(String, bool)> {
    let path = clean_path(path);
    let mut best: Option<(String, bool)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else { continue };
        if fields.len() < 5 || sep < 6 {
            continue;
        }
        let mp = unescape_mountinfo(fields[4]);
        let under = mp == "/" || path == mp || path.starts_with(&format!("{mp}/"));
        if under && best.as_ref().map_or(true, |(b, _)| mp.len() >= b.len()) {
            best = Some((mp, fields[6..sep].iter().any(|f| f.starts_with("shared:"))));
        }
    }
    best
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push(((b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32) as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `--no-pivot`: the plan moves the rootfs onto `/` and chroots instead of pivot_root.
pub fn move_root_instead_of_pivot(steps: &mut [Step]) {
    for s in steps.iter_mut() {
        if let Step::PivotRoot { rootfs } = s {
            *s = Step::MoveRoot { rootfs: std::mem::take(rootfs) };
        }
    }
}

/// A config without a mount namespace: the steps run in the runtime's own mount namespace, so
/// nothing may touch the host's `/` (its propagation, a bind of the rootfs onto itself, a
/// pivot_root): the container's mounts go onto the rootfs, and the process chroots into it.
/// The mounts stay until the runtime's `delete` detaches them (`mounts_under`).
pub fn in_the_callers_mount_namespace(steps: &mut Vec<Step>) {
    steps.retain(|s| !matches!(s, Step::RootPropagation { .. } | Step::PrivateParent { .. }));
    for s in steps.iter_mut() {
        match s {
            Step::PivotRoot { rootfs } | Step::MoveRoot { rootfs } => *s = Step::Chroot { rootfs: std::mem::take(rootfs) },
            Step::BindRootfs { path } => *s = Step::UseRootfs { path: std::mem::take(path) },
            _ => {}
        }
    }
}

/// The mount points at or under `dir` in a mount table, deepest first (to detach them).
pub fn mounts_under(mountinfo: &str, dir: &str) -> Vec<String> {
    let dir = clean_path(dir);
    let mut out: Vec<String> = Vec::new();
    for line in mountinfo.lines() {
        let Some(mp) = line.split(' ').nth(4).map(unescape_mountinfo) else { continue };
        if (mp == dir || mp.starts_with(&format!("{dir}/"))) && !out.contains(&mp) {
            out.push(mp);
        }
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()));
    out
}

/// The full (root `/`) proc and sysfs mounts of a mount table outside `rootfs`, deepest first:
/// what `MoveRoot` takes out of reach before the chroot.
pub fn full_proc_sys_mounts(mountinfo: &str, rootfs: &str) -> Vec<String> {
    let rootfs = clean_path(rootfs);
    let mut out: Vec<String> = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else { continue };
        if fields.len() <= sep + 1 || sep < 5 || fields[3] != "/" || !matches!(fields[sep + 1], "proc" | "sysfs") {
            continue;
        }
        let mp = unescape_mountinfo(fields[4]);
        if mp == rootfs || mp.starts_with(&format!("{rootfs}/")) || out.contains(&mp) {
            continue;
        }
        out.push(mp);
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()));
    out
}

/// Why a step failed, with the step for context.
#[derive(Debug)]
pub struct PlanError {
    pub step: String,
    pub err: SysError,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.err)
    }
}

impl std::error::Error for PlanError {}

/// `/dev/pts/ptmx` → (`/dev/pts`, `ptmx`): the directory to resolve inside the rootfs, and the name made in it.
fn split_parent(path: &str) -> (&str, &str) {
    let p = path.trim_end_matches('/');
    match p.rfind('/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("", p),
    }
}

/// `dest` with `.`, `..` and repeated slashes folded, as an absolute path (`/x/../proc` → `/proc`).
pub fn clean_path(dest: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in dest.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// runc's rules for /proc and /sys: proc and sysfs go on ordinary directories of the image,
/// never through a symlink it plants; nothing else is mounted on or under /proc (it would
/// shadow the kernel's view the masked paths protect), except a bind of the host's /proc
/// (`--pid host`, rootless).
fn check_special_destination(sys: &mut dyn Sys, rootfs: &str, dest: &str, source: &str, fstype: &str) -> Result<(), SysError> {
    let clean = clean_path(dest);
    let refuse = |what: &'static str| Err(SysError { op: what, target: String::new(), errno: libc::EPERM });
    if fstype == "proc" || fstype == "sysfs" || clean == "/proc" || clean == "/sys" {
        if sys.symlink_in_path(rootfs, &clean)? {
            return refuse("the destination is a symlink in the image (refused, as runc does)");
        }
    }
    let under_proc = clean == "/proc" || clean.starts_with("/proc/");
    if under_proc && fstype != "proc" && !(clean == "/proc" && clean_path(source) == "/proc") {
        return refuse("nothing but proc may be mounted on or inside /proc (refused, as runc does)");
    }
    Ok(())
}

/// Execute the steps. Paths before pivot_root are resolved inside `rootfs` by the Sys.
pub fn execute(sys: &mut dyn Sys, steps: &[Step]) -> Result<(), PlanError> {
    execute_from(sys, "/", steps)
}

/// `execute`, with `rootfs` the root the steps' paths resolve in until a rootfs step sets it.
pub fn execute_from(sys: &mut dyn Sys, rootfs: &str, steps: &[Step]) -> Result<(), PlanError> {
    let mut rootfs = rootfs.to_string();
    for step in steps {
        let ctx = |e: SysError| PlanError { step: describe(step), err: e };
        match step {
            Step::LoopbackUp => sys.link_up("lo").map_err(ctx)?,
            Step::RootPropagation { flags } => sys.mount("", "/", "", *flags, "").map_err(ctx)?,
            Step::PrivateParent { path } => {
                if let Some((mp, true)) = parent_mount(&sys.mountinfo(), path) {
                    sys.mount("", &mp, "", libc::MS_PRIVATE as u64, "").map_err(ctx)?;
                }
            }
            Step::MountRootfs { mount, target } => {
                rootfs = target.clone();
                sys.mount(&mount.source, target, &mount.fstype, 0, &mount.data).map_err(ctx)?;
            }
            Step::BindRootfs { path } => {
                rootfs = path.clone();
                sys.mount(path, path, "", (libc::MS_BIND | libc::MS_REC) as u64, "").map_err(ctx)?;
            }
            Step::Mount { dest, source, fstype, flags, data, readonly, fallback, propagation } => {
                check_special_destination(sys, &rootfs, dest, source, fstype).map_err(ctx)?;
                let is_bind = flags & libc::MS_BIND as u64 != 0;
                let file = is_bind && !sys.is_dir(source);
                // The destination is resolved inside the rootfs and held open; the mount goes
                // onto that very object (/proc/self/fd/N), so a symlink swapped in meanwhile
                // cannot redirect it (CVE-2021-30465).
                let target = sys.prepare_target(&rootfs, dest, file).map_err(ctx)?;
                // The config's source names the mount in /proc/self/mountinfo (`shm` for a
                // tmpfs on /dev/shm, as runc mounts it); the type stands in when it is empty.
                let src = if is_bind || !source.is_empty() { source.as_str() } else { fstype.as_str() };
                let fs = if is_bind { "" } else { fstype.as_str() };
                let mounted = match sys.mount(src, &target, fs, *flags, data) {
                    Ok(()) => Ok(()),
                    Err(e) if fallback.is_some() && (e.errno == libc::EPERM || (e.errno == libc::EBUSY && fstype == "cgroup2")) => {
                        sys.mount(fallback.as_deref().unwrap_or_default(), &target, "", (libc::MS_BIND | libc::MS_REC) as u64, "")
                    }
                    Err(e) => Err(e),
                };
                sys.release_target(&target);
                mounted.map_err(ctx)?;
                if *readonly || *propagation != 0 {
                    // The held fd names the directory under the new mount: resolve again.
                    let top = sys.prepare_target(&rootfs, dest, file).map_err(ctx)?;
                    let mut r = Ok(());
                    if *propagation != 0 {
                        r = sys.mount("", &top, "", *propagation, "");
                    }
                    if r.is_ok() && *readonly {
                        r = sys.remount_readonly(&top);
                    }
                    sys.release_target(&top);
                    r.map_err(ctx)?;
                }
            }
            Step::Device { dest, mode, major, minor, uid, gid } => {
                // The parent is resolved inside the rootfs (an image's `dev -> /host/dir` leads to
                // rootfs/host/dir, never to the host's), held open, and the node made in it by name.
                let (dir, name) = split_parent(dest);
                let parent = sys.prepare_target(&rootfs, dir, false).map_err(ctx)?;
                let target = format!("{parent}/{name}");
                let made = sys.mknod(&target, *mode, libc::makedev(*major as u32, *minor as u32));
                let r = match made {
                    Ok(()) => sys.chown(&target, *uid, *gid),
                    Err(e) => Err(e),
                };
                sys.release_target(&parent);
                match r {
                    Ok(()) => {}
                    // Inside a user namespace devices cannot be created: bind the host's onto a
                    // file made (and held) inside the rootfs.
                    Err(e) if e.errno == libc::EPERM => {
                        let file = sys.prepare_target(&rootfs, dest, true).map_err(ctx)?;
                        let bound = sys.mount(dest, &file, "", libc::MS_BIND as u64, "");
                        sys.release_target(&file);
                        bound.map_err(ctx)?;
                    }
                    Err(e) => return Err(ctx(e)),
                }
            }
            Step::Symlink { target, link } => {
                let (dir, name) = split_parent(link);
                let parent = sys.prepare_target(&rootfs, dir, false).map_err(ctx)?;
                let path = format!("{parent}/{name}");
                let r = if sys.exists(&path) { Ok(()) } else { sys.symlink(target, &path) };
                sys.release_target(&parent);
                r.map_err(ctx)?;
            }
            Step::AttachTree { fd, dest } => {
                let target = sys.prepare_target(&rootfs, dest, false).map_err(ctx)?;
                let attached = sys.attach_tree(*fd, &target);
                sys.release_target(&target);
                attached.map_err(ctx)?;
            }
            Step::PivotRoot { rootfs: r } => {
                sys.pivot_root(r).map_err(ctx)?;
                rootfs = "/".into();
            }
            Step::UseRootfs { path } => rootfs = path.clone(),
            Step::Chroot { rootfs: r } => {
                sys.chroot(r).map_err(ctx)?;
                rootfs = "/".into();
            }
            Step::MoveRoot { rootfs: r } => {
                for mp in full_proc_sys_mounts(&sys.mountinfo(), r) {
                    // rslave first: the detach must not propagate to the host.
                    match sys.mount("", &mp, "", (libc::MS_SLAVE | libc::MS_REC) as u64, "") {
                        Err(e) if e.errno == libc::ENOENT => continue, // under one detached already
                        r => r.map_err(ctx)?,
                    }
                    match sys.umount_detach(&mp) {
                        Err(e) if e.errno == libc::EINVAL || e.errno == libc::EPERM => sys.mount("tmpfs", &mp, "tmpfs", 0, "").map_err(ctx)?,
                        r => r.map_err(ctx)?,
                    }
                }
                sys.move_root(r).map_err(ctx)?;
                rootfs = "/".into();
            }
            Step::Sysctl { key, value } => sys.write_file(&format!("/proc/sys/{}", key.replace('.', "/")), value).map_err(ctx)?,
            Step::Mask { path } => {
                if !sys.exists(path) {
                    continue;
                }
                if sys.is_dir(path) {
                    sys.mount("tmpfs", path, "tmpfs", libc::MS_RDONLY as u64, "size=0").map_err(ctx)?;
                } else {
                    sys.mount("/dev/null", path, "", libc::MS_BIND as u64, "").map_err(ctx)?;
                }
            }
            Step::ReadOnly { path } => {
                if !sys.exists(path) {
                    continue;
                }
                sys.mount(path, path, "", (libc::MS_BIND | libc::MS_REC) as u64, "").map_err(ctx)?;
                sys.remount_readonly(path).map_err(ctx)?;
            }
            Step::RootReadOnly => sys.remount_readonly("/").map_err(ctx)?,
            Step::Hostname { name } => sys.sethostname(name).map_err(ctx)?,
            Step::Domainname { name } => sys.setdomainname(name).map_err(ctx)?,
        }
    }
    Ok(())
}

fn describe(step: &Step) -> String {
    match step {
        Step::LoopbackUp => "bring the loopback interface up".into(),
        Step::RootPropagation { .. } => "set mount propagation of /".into(),
        Step::PrivateParent { path } => format!("make the mount under {path} private"),
        Step::MountRootfs { mount, target } => format!("mount {} rootfs on {target}", mount.fstype),
        Step::BindRootfs { path } => format!("bind rootfs {path}"),
        Step::Mount { dest, fstype, .. } => format!("mount {fstype} on {dest}"),
        Step::Device { dest, .. } => format!("create device {dest}"),
        Step::Symlink { link, .. } => format!("create symlink {link}"),
        Step::PivotRoot { rootfs } => format!("pivot_root to {rootfs}"),
        Step::MoveRoot { rootfs } => format!("move the root to {rootfs} (--no-pivot)"),
        Step::Chroot { rootfs } => format!("chroot to {rootfs}"),
        Step::UseRootfs { path } => format!("use the rootfs {path}"),
        Step::AttachTree { dest, .. } => format!("attach the shared mount on {dest}"),
        Step::Sysctl { key, .. } => format!("set sysctl {key}"),
        Step::Mask { path } => format!("mask {path}"),
        Step::ReadOnly { path } => format!("make {path} read-only"),
        Step::RootReadOnly => "make the rootfs read-only".into(),
        Step::Hostname { name } => format!("set hostname {name}"),
        Step::Domainname { name } => format!("set domainname {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Linux, Namespace, Process, Root};
    use crate::sys::RecordingSys;

    fn spec() -> Spec {
        Spec {
            oci_version: "1.0.2".into(),
            process: Some(Process::default()),
            root: Some(Root { path: "rootfs".into(), readonly: false }),
            hostname: "c1".into(),
            domainname: String::new(),
            mounts: vec![
                Mount { destination: "/proc".into(), kind: "proc".into(), source: "proc".into(), options: vec![] },
                Mount {
                    destination: "/dev".into(),
                    kind: "tmpfs".into(),
                    source: "tmpfs".into(),
                    options: vec!["nosuid".into(), "strictatime".into(), "mode=755".into(), "size=65536k".into()],
                },
                Mount { destination: "/sys".into(), kind: "sysfs".into(), source: "sysfs".into(), options: vec!["ro".into(), "nosuid".into()] },
            ],
            linux: Some(Linux {
                namespaces: vec![Namespace { kind: "uts".into(), path: String::new() }],
                masked_paths: vec!["/proc/kcore".into()],
                readonly_paths: vec!["/proc/sys".into()],
                ..Default::default()
            }),
        }
    }

    fn index(steps: &[Step], pred: impl Fn(&Step) -> bool) -> usize {
        steps.iter().position(pred).expect("step present")
    }

    #[test]
    fn mounts_precede_pivot_and_masks_follow_it() {
        let rm = RootfsMount::parse("overlay:lowerdir=/l,upperdir=/u,workdir=/w").unwrap();
        let steps = plan(&spec(), "/b/rootfs", Some(&rm));
        let pivot = index(&steps, |s| matches!(s, Step::PivotRoot { .. }));
        let rootfs = index(&steps, |s| matches!(s, Step::MountRootfs { .. }));
        let proc_ = index(&steps, |s| matches!(s, Step::Mount { fstype, .. } if fstype == "proc"));
        let null = index(&steps, |s| matches!(s, Step::Device { dest, .. } if dest == "/dev/null"));
        let mask = index(&steps, |s| matches!(s, Step::Mask { .. }));
        let ro = index(&steps, |s| matches!(s, Step::ReadOnly { .. }));
        let host = index(&steps, |s| matches!(s, Step::Hostname { .. }));
        assert_eq!(rootfs, 2);
        assert!(rootfs < proc_ && proc_ < null && null < pivot);
        assert!(pivot < mask && mask < ro && ro < host);
    }

    #[test]
    fn a_shared_tree_is_attached_inside_the_rootfs_after_the_mounts_and_before_pivot() {
        let mut steps = plan(&spec(), "/b/rootfs", None);
        attach_before_pivot(&mut steps, 7, "/dev/shm");
        let mut sys = RecordingSys::default();
        execute(&mut sys, &steps).unwrap();
        let attach = sys.calls.iter().position(|c| c == "attach_tree /b/rootfs/dev/shm").expect("attached");
        let prepared = sys.calls.iter().position(|c| c == "prepare /b/rootfs/dev/shm").unwrap();
        let last_mount = sys.calls.iter().rposition(|c| c.starts_with("mount ") && c.contains("/b/rootfs/")).unwrap();
        let pivot = sys.calls.iter().position(|c| c.starts_with("pivot_root")).unwrap();
        assert!(last_mount < prepared && prepared < attach && attach < pivot, "{:?}", sys.calls);
        let mut failing = RecordingSys { fail: vec![("attach_tree".into(), libc::EINVAL)], ..Default::default() };
        let e = execute(&mut failing, &steps).unwrap_err();
        assert_eq!(e.step, "attach the shared mount on /dev/shm");
    }
    #[test]
    fn sysctls_are_written_after_pivot_and_before_proc_sys_turns_read_only() {
        let mut sp = spec();
        sp.linux.as_mut().unwrap().sysctl.insert("net.ipv4.ip_forward".into(), "1".into());
        let steps = plan(&sp, "/b/rootfs", None);
        let mut sys = RecordingSys { existing: vec!["/proc/sys".into()], ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        let pivot = sys.calls.iter().position(|c| c.starts_with("pivot_root")).unwrap();
        let w = sys.calls.iter().position(|c| c == "write /proc/sys/net/ipv4/ip_forward 1").expect("sysctl written");
        let ro = sys.calls.iter().position(|c| c.starts_with("remount_ro /proc/sys")).unwrap();
        assert!(pivot < w && w < ro, "{:?}", sys.calls);
    }

    #[test]
    fn the_domainname_is_written_in_the_uts_namespace_only() {
        let mut sp = spec();
        sp.domainname = "example.org".into();
        let mut sys = RecordingSys::default();
        execute(&mut sys, &plan(&sp, "/b/rootfs", None)).unwrap();
        assert!(sys.calls.iter().any(|c| c == "setdomainname example.org"), "{:?}", sys.calls);
        sp.linux.as_mut().unwrap().namespaces.retain(|n| n.kind != "uts");
        assert!(!plan(&sp, "/b/rootfs", None).iter().any(|s| matches!(s, Step::Domainname { .. })));
    }

    #[test]
    fn a_network_namespace_of_its_own_gets_lo_up_first_the_host_network_does_not() {
        let mut sp = spec();
        sp.linux.as_mut().unwrap().namespaces.push(Namespace { kind: "network".into(), path: String::new() });
        let mut sys = RecordingSys::default();
        execute(&mut sys, &plan(&sp, "/b/rootfs", None)).unwrap();
        assert_eq!(sys.calls.first().map(String::as_str), Some("link_up lo"), "{:?}", sys.calls);
        let mut failing = RecordingSys { fail: vec![("link_up".into(), libc::EPERM)], ..Default::default() };
        let e = execute(&mut failing, &plan(&sp, "/b/rootfs", None)).unwrap_err();
        assert_eq!(e.step, "bring the loopback interface up");
        assert_eq!(failing.calls.len(), 1, "nothing is mounted after the failure");
        // --network host: the host's interfaces are not touched.
        let mut host = RecordingSys::default();
        execute(&mut host, &plan(&spec(), "/b/rootfs", None)).unwrap();
        assert!(!host.calls.iter().any(|c| c.starts_with("link_up")), "{:?}", host.calls);
    }

    #[test]
    fn option_flags_and_data_are_split() {
        let (flags, data, ro) = mount_flags(&["nosuid".into(), "ro".into(), "exec".into(), "mode=755".into(), "size=64k".into()]);
        assert_eq!(flags, libc::MS_NOSUID as u64);
        assert_eq!(data, "mode=755,size=64k");
        assert!(ro);
    }

    #[test]
    fn devices_fall_back_to_bind_mounts_when_mknod_is_refused() {
        let steps = plan(&spec(), "/b/rootfs", None);
        let mut sys = RecordingSys { fail: vec![("mknod".into(), libc::EPERM)], ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        let calls = sys.calls.join("\n");
        assert!(calls.contains("mknod /b/rootfs/dev/null"), "{calls}");
        assert!(calls.contains("mount /dev/null /b/rootfs/dev/null  0x1000"), "{calls}");
        let pivot = sys.calls.iter().position(|c| c.starts_with("pivot_root")).unwrap();
        let host = sys.calls.iter().position(|c| c.starts_with("sethostname")).unwrap();
        assert!(pivot < host);
    }

    #[test]
    fn sysfs_falls_back_to_rbind_and_stays_read_only() {
        let steps = plan(&spec(), "/b/rootfs", None);
        let mut sys = RecordingSys { fail: vec![("mount sysfs".into(), libc::EPERM)], ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        let i = sys.calls.iter().position(|c| c.starts_with("mount /sys /b/rootfs/sys")).expect("rbind fallback");
        assert_eq!(sys.calls[i + 1], "prepare /b/rootfs/sys", "{:?}", sys.calls);
        assert!(sys.calls[i + 2].starts_with("remount_ro /b/rootfs/sys"), "{:?}", sys.calls);
    }

    #[test]
    fn a_refused_cgroup2_mount_binds_the_containers_own_cgroup_read_only() {
        let cg = Mount { destination: "/sys/fs/cgroup".into(), kind: "cgroup2".into(), source: "cgroup".into(), options: vec!["nosuid".into(), "ro".into()] };
        let mut s = with_mounts(vec![cg]);
        let linux = s.linux.as_mut().unwrap();
        linux.cgroups_path = "/oci-test.slice/c1".into();
        linux.namespaces.push(Namespace { kind: "cgroup".into(), path: String::new() });
        let rec = (libc::MS_BIND | libc::MS_REC) as u64;
        // EBUSY: the host's cgroup2 mount, brought along by a bind of /sys, is already there
        // (the same superblock on the same mount point); EPERM: no cgroup namespace of its own.
        for errno in [libc::EBUSY, libc::EPERM] {
            let steps = plan(&s, "/b/rootfs", None);
            let mut sys = RecordingSys { fail: vec![("mount cgroup /b/rootfs/sys/fs/cgroup cgroup2".into(), errno)], ..Default::default() };
            execute(&mut sys, &steps).unwrap();
            let i = sys.calls.iter().position(|c| c.starts_with("mount /sys/fs/cgroup/oci-test.slice/c1 ")).expect("bind of the container's cgroup");
            assert_eq!(sys.calls[i], format!("mount /sys/fs/cgroup/oci-test.slice/c1 /b/rootfs/sys/fs/cgroup  {rec:#x} "));
            assert!(sys.calls[i + 1..i + 3].iter().any(|c| c == "remount_ro /b/rootfs/sys/fs/cgroup"), "{:?}", sys.calls);
        }
        // Without a cgroup namespace the whole hierarchy is bound (what the container sees anyway).
        s.linux.as_mut().unwrap().namespaces.retain(|n| n.kind != "cgroup");
        let steps = plan(&s, "/b/rootfs", None);
        let mut sys = RecordingSys { fail: vec![("mount cgroup /b/rootfs/sys/fs/cgroup cgroup2".into(), libc::EBUSY)], ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        assert!(sys.calls.contains(&format!("mount /sys/fs/cgroup /b/rootfs/sys/fs/cgroup  {rec:#x} ")), "{:?}", sys.calls);
        // Any other error is the mount's error; EBUSY from another file system too.
        let mut sys = RecordingSys { fail: vec![("mount cgroup /b/rootfs/sys/fs/cgroup cgroup2".into(), libc::ENOENT)], ..Default::default() };
        assert!(execute(&mut sys, &steps).is_err());
        let mut sys = RecordingSys { fail: vec![("mount sysfs".into(), libc::EBUSY)], ..Default::default() };
        assert!(execute(&mut sys, &plan(&spec(), "/b/rootfs", None)).is_err());
    }

    fn with_mounts(extra: Vec<Mount>) -> Spec {
        let mut s = spec();
        s.mounts.extend(extra);
        s
    }

    #[test]
    fn a_read_only_bind_gets_propagation_then_read_only_on_the_mount_itself() {
        let m = Mount { destination: "/data".into(), kind: "bind".into(), source: "/host/d".into(), options: vec!["rbind".into(), "rslave".into(), "ro".into()] };
        let steps = plan(&with_mounts(vec![m]), "/b/rootfs", None);
        let mut sys = RecordingSys { existing: vec!["/host/d".into()], ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        let i = sys.calls.iter().position(|c| c == "prepare /b/rootfs/data").unwrap();
        let rest = &sys.calls[i..i + 5];
        let rec = (libc::MS_BIND | libc::MS_REC) as u64;
        let slave = (libc::MS_SLAVE | libc::MS_REC) as u64;
        assert_eq!(rest[1], format!("mount /host/d /b/rootfs/data  {rec:#x} "), "{rest:?}");
        // resolved again after the mount: the remounts act on the new mount, not the directory under it
        assert_eq!(rest[2], "prepare /b/rootfs/data");
        assert_eq!(rest[3], format!("mount  /b/rootfs/data  {slave:#x} "));
        assert_eq!(rest[4], "remount_ro /b/rootfs/data");
        let pivot = sys.calls.iter().position(|c| c.starts_with("pivot_root")).unwrap();
        assert!(i < pivot);
    }

    #[test]
    fn a_tmpfs_mount_takes_size_and_mode_as_data_and_no_propagation_step() {
        let m = Mount {
            destination: "/run".into(),
            kind: "tmpfs".into(),
            source: "tmpfs".into(),
            options: vec!["nosuid".into(), "nodev".into(), "noexec".into(), "size=1048576".into(), "mode=1777".into()],
        };
        let steps = plan(&with_mounts(vec![m]), "/b/rootfs", None);
        let mut sys = RecordingSys::default();
        execute(&mut sys, &steps).unwrap();
        let flags = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u64;
        let i = sys.calls.iter().position(|c| c.starts_with("mount tmpfs /b/rootfs/run")).unwrap();
        assert_eq!(sys.calls[i], format!("mount tmpfs /b/rootfs/run tmpfs {flags:#x} size=1048576,mode=1777"));
        assert!(!sys.calls[i + 1].starts_with("prepare /b/rootfs/run"));
    }

    #[test]
    fn a_filesystem_is_mounted_from_the_configs_source_or_its_type_when_there_is_none() {
        let shm = Mount { destination: "/dev/shm".into(), kind: "tmpfs".into(), source: "shm".into(), options: vec!["mode=1777".into()] };
        let none = Mount { destination: "/run".into(), kind: "tmpfs".into(), source: String::new(), options: vec![] };
        let mut sys = RecordingSys::default();
        execute(&mut sys, &plan(&with_mounts(vec![shm, none]), "/b/rootfs", None)).unwrap();
        assert!(sys.calls.iter().any(|c| c == "mount shm /b/rootfs/dev/shm tmpfs 0x0 mode=1777"), "{:?}", sys.calls);
        assert!(sys.calls.iter().any(|c| c == "mount tmpfs /b/rootfs/run tmpfs 0x0 "), "{:?}", sys.calls);
    }

    const MOUNTINFO: &str = "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
        30 22 0:30 / /tmp rw shared:5 master:2 - tmpfs tmpfs rw\n\
        31 30 0:31 / /tmp/b\\040x rw - tmpfs tmpfs rw\n\
        32 22 0:32 / /tmpfoo rw - tmpfs tmpfs rw\n";

    #[test]
    fn the_mount_a_path_lives_on_is_the_longest_parent_mount_point() {
        assert_eq!(parent_mount(MOUNTINFO, "/tmp/ocitest1/rootfs"), Some(("/tmp".into(), true)));
        assert_eq!(parent_mount(MOUNTINFO, "/tmp/b x/rootfs"), Some(("/tmp/b x".into(), false)));
        assert_eq!(parent_mount(MOUNTINFO, "/tmpfoo/r"), Some(("/tmpfoo".into(), false)));
        assert_eq!(parent_mount(MOUNTINFO, "/srv/./r/"), Some(("/".into(), true)));
        assert_eq!(parent_mount("", "/srv"), None);
    }

    #[test]
    fn a_shared_parent_of_the_rootfs_turns_private_before_the_rootfs_bind() {
        let mut sp = spec();
        sp.linux.as_mut().unwrap().rootfs_propagation = "shared".into();
        let mut sys = RecordingSys { mountinfo: MOUNTINFO.into(), ..Default::default() };
        execute(&mut sys, &plan(&sp, "/tmp/ocitest1/rootfs", None)).unwrap();
        let shared = (libc::MS_SHARED | libc::MS_REC) as u64;
        let private = libc::MS_PRIVATE as u64;
        assert_eq!(sys.calls[0], format!("mount  /  {shared:#x} "));
        assert_eq!(&sys.calls[1..3], [String::from("mountinfo"), format!("mount  /tmp  {private:#x} ")]);
        assert!(sys.calls[3].starts_with("mount /tmp/ocitest1/rootfs /tmp/ocitest1/rootfs"), "{:?}", sys.calls);
        // A parent that is not shared is left as it is.
        let mut sys = RecordingSys { mountinfo: MOUNTINFO.into(), ..Default::default() };
        execute(&mut sys, &plan(&sp, "/tmp/b x/rootfs", None)).unwrap();
        assert!(sys.calls[2].starts_with("mount /tmp/b x/rootfs"), "{:?}", sys.calls);
    }

    #[test]
    fn no_pivot_detaches_the_full_proc_and_sys_mounts_outside_the_rootfs_then_moves_the_root() {
        let table = "1 0 0:1 / / rw shared:1 - ext4 /dev/vda rw\n\
            2 1 0:2 / /proc rw - proc proc rw\n\
            3 1 0:3 / /sys rw - sysfs sysfs rw\n\
            4 3 0:4 / /sys/kernel/security rw - securityfs securityfs rw\n\
            5 1 0:2 /sys /srv/procsys rw - proc proc rw\n\
            6 1 0:5 / /b/rootfs/proc rw - proc proc rw\n\
            7 1 0:6 / /run/x/sys rw - sysfs sysfs rw\n";
        assert_eq!(full_proc_sys_mounts(table, "/b/rootfs/"), vec!["/run/x/sys", "/proc", "/sys"]);
        let mut steps = plan(&spec(), "/b/rootfs", None);
        move_root_instead_of_pivot(&mut steps);
        assert!(!steps.iter().any(|s| matches!(s, Step::PivotRoot { .. })));
        // /sys cannot be detached (EPERM in a user namespace): a tmpfs covers it instead.
        let mut sys = RecordingSys { mountinfo: table.into(), fail: vec![("umount /sys".into(), libc::EPERM)], ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        let i = sys.calls.iter().position(|c| c.starts_with("move_root")).expect("moved");
        let slave = (libc::MS_SLAVE | libc::MS_REC) as u64;
        let expect = [
            format!("mount  /run/x/sys  {slave:#x} "), "umount /run/x/sys".into(),
            format!("mount  /proc  {slave:#x} "), "umount /proc".into(),
            format!("mount  /sys  {slave:#x} "), "umount /sys".into(), "mount tmpfs /sys tmpfs 0x0 ".into(),
            "move_root /b/rootfs".into(),
        ];
        assert_eq!(sys.calls[i - 7..=i], expect, "{:?}", sys.calls);
        let mask = sys.calls.iter().position(|c| c.starts_with("mount /dev/null /proc/kcore") || c.starts_with("mount tmpfs /proc/kcore")).unwrap_or(usize::MAX);
        let host = sys.calls.iter().position(|c| c.starts_with("sethostname")).unwrap();
        assert!(i < host && (mask == usize::MAX || i < mask));
        let mut failing = RecordingSys { fail: vec![("move_root".into(), libc::EINVAL)], ..Default::default() };
        assert_eq!(execute(&mut failing, &steps).unwrap_err().step, "move the root to /b/rootfs (--no-pivot)");
    }

    #[test]
    fn without_a_mount_namespace_nothing_touches_the_hosts_root_and_the_process_chroots() {
        let mut steps = plan(&spec(), "/b/rootfs", None);
        in_the_callers_mount_namespace(&mut steps);
        let mut sys = RecordingSys { mountinfo: MOUNTINFO.into(), ..Default::default() };
        execute(&mut sys, &steps).unwrap();
        assert!(!sys.calls.iter().any(|c| c.starts_with("mount  /") || c.starts_with("mountinfo") || c.starts_with("pivot_root") || c.starts_with("move_root")), "{:?}", sys.calls);
        assert!(!sys.calls.iter().any(|c| c.starts_with("mount /b/rootfs /b/rootfs")), "{:?}", sys.calls);
        let proc_ = sys.calls.iter().position(|c| c.starts_with("mount proc /b/rootfs/proc")).unwrap();
        let chroot = sys.calls.iter().position(|c| c == "chroot /b/rootfs").unwrap();
        assert!(proc_ < chroot);
        let table = "1 0 0:1 / / rw - ext4 /dev/vda rw\n2 1 0:2 / /b/rootfs/proc rw - proc proc rw\n\
            3 1 0:3 / /b/rootfs/dev rw - tmpfs tmpfs rw\n4 3 0:4 / /b/rootfs/dev/pts rw - devpts devpts rw\n5 1 0:5 / /b/rootfsx rw - tmpfs t rw\n";
        assert_eq!(mounts_under(table, "/b/rootfs/"), vec!["/b/rootfs/dev/pts", "/b/rootfs/proc", "/b/rootfs/dev"]);
    }

    #[test]
    fn a_failed_bind_stops_before_pivot_root() {
        let m = Mount { destination: "/data".into(), kind: "bind".into(), source: "/host/d".into(), options: vec!["rbind".into()] };
        let steps = plan(&with_mounts(vec![m]), "/b/rootfs", None);
        let mut sys = RecordingSys { fail: vec![("mount /host/d".into(), libc::ENOENT)], ..Default::default() };
        let err = execute(&mut sys, &steps).unwrap_err();
        assert_eq!(err.step, "mount bind on /data");
        assert!(!sys.calls.iter().any(|c| c.starts_with("pivot_root")));
    }

    #[test]
    fn devices_and_dev_links_are_made_in_a_parent_resolved_inside_the_rootfs() {
        let steps = plan(&spec(), "/b/rootfs", None);
        let mut sys = RecordingSys::default();
        execute(&mut sys, &steps).unwrap();
        for (made, parent) in [("mknod /b/rootfs/dev/null", "prepare /b/rootfs/dev"), ("symlink pts/ptmx /b/rootfs/dev/ptmx", "prepare /b/rootfs/dev")] {
            let i = sys.calls.iter().position(|c| c.starts_with(made)).unwrap_or_else(|| panic!("{made}: {:?}", sys.calls));
            assert_eq!(sys.calls[i - 1], parent, "{:?}", sys.calls);
        }
        // The fallback bind goes onto a file prepared (made and held) inside the rootfs too.
        let mut eperm = RecordingSys { fail: vec![("mknod".into(), libc::EPERM)], ..Default::default() };
        execute(&mut eperm, &steps).unwrap();
        let i = eperm.calls.iter().position(|c| c.starts_with("mount /dev/null /b/rootfs/dev/null")).unwrap();
        assert_eq!(eperm.calls[i - 1], "prepare /b/rootfs/dev/null", "{:?}", eperm.calls);
        assert!(!eperm.calls.iter().any(|c| c.starts_with("touch")), "{:?}", eperm.calls);
    }

    #[test]
    fn proc_and_sys_must_not_be_symlinks_and_nothing_else_goes_on_or_under_proc() {
        let mut sys = RecordingSys { symlinks: vec!["/b/rootfs/proc".into()], ..Default::default() };
        let e = execute(&mut sys, &plan(&spec(), "/b/rootfs", None)).unwrap_err();
        assert_eq!(e.step, "mount proc on /proc");
        assert!(e.to_string().contains("symlink in the image"), "{e}");
        assert!(!sys.calls.iter().any(|c| c.starts_with("mount proc")), "{:?}", sys.calls);
        let mut sys = RecordingSys { symlinks: vec!["/b/rootfs/sys".into()], ..Default::default() };
        assert_eq!(execute(&mut sys, &plan(&spec(), "/b/rootfs", None)).unwrap_err().step, "mount sysfs on /sys");
        for dest in ["/proc", "/proc/sys/kernel", "/x/../proc/self", "//proc"] {
            let m = Mount { destination: dest.into(), kind: "bind".into(), source: "/host/d".into(), options: vec!["rbind".into()] };
            let mut sys = RecordingSys { existing: vec!["/host/d".into()], ..Default::default() };
            let e = execute(&mut sys, &plan(&with_mounts(vec![m]), "/b/rootfs", None)).unwrap_err();
            assert!(e.to_string().contains("inside /proc"), "{dest}: {e}");
            assert!(!sys.calls.iter().any(|c| c.starts_with("mount /host/d")), "{dest}: {:?}", sys.calls);
        }
        // --pid host (rootless): the host's /proc bound on /proc is allowed; so is /procfoo.
        for (dest, source) in [("/proc", "/proc"), ("/procfoo", "/host/d")] {
            let m = Mount { destination: dest.into(), kind: "bind".into(), source: source.into(), options: vec!["rbind".into()] };
            let mut sys = RecordingSys { existing: vec![source.into()], ..Default::default() };
            execute(&mut sys, &plan(&with_mounts(vec![m]), "/b/rootfs", None)).unwrap();
        }
        assert_eq!(clean_path("/a/./b//../../proc/"), "/proc");
    }

    /// The real resolver: `dev` planted as a symlink to a host directory (absolute or relative)
    /// gets the device nodes and links in the rootfs, and the host directory stays untouched.
    #[test]
    fn a_symlinked_dev_leads_inside_the_rootfs_never_to_the_host() {
        use crate::sys::RealSys;
        for (n, link) in ["abs", "rel"].iter().enumerate() {
            let base = std::env::temp_dir().join(format!("ncx-plan-dev-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            let (root, outside) = (base.join("a/b/rootfs"), base.join("outside"));
            std::fs::create_dir_all(&root).unwrap();
            std::fs::create_dir_all(&outside).unwrap();
            let target = if *link == "abs" { outside.to_string_lossy().into_owned() } else { "../../../outside".to_string() };
            std::os::unix::fs::symlink(&target, root.join("dev")).unwrap();
            // A regular-file "device" (mknod S_IFREG needs no privileges) and the /dev links.
            let steps = vec![
                Step::Device { dest: "/dev/null".into(), mode: libc::S_IFREG | 0o644, major: 0, minor: 0, uid: unsafe { libc::getuid() }, gid: unsafe { libc::getgid() } },
                Step::Symlink { target: "/proc/self/fd".into(), link: "/dev/fd".into() },
                Step::Symlink { target: "pts/ptmx".into(), link: "/dev/ptmx".into() },
            ];
            // (no BindRootfs step: it needs a mount namespace; the rootfs is given directly)
            let mut sys = RealSys;
            let inner = execute_from(&mut sys, &root.to_string_lossy(), &steps);
            assert!(inner.is_ok(), "{link}: {inner:?}");
            assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{link}: the host directory was written");
            let inside = if *link == "abs" { root.join(outside.strip_prefix("/").unwrap()) } else { root.join("outside") };
            for name in ["null", "fd", "ptmx"] {
                assert!(std::fs::symlink_metadata(inside.join(name)).is_ok(), "{link}: {name} not made in the rootfs at {inside:?}");
            }
            let _ = std::fs::remove_dir_all(&base);
        }
    }

    /// The real resolver: symlinks planted in an image at a mount destination stay inside the rootfs.
    #[test]
    fn mount_targets_resolve_inside_the_rootfs() {
        use crate::sys::{RealSys, Sys};
        let base = std::env::temp_dir().join(format!("ncx-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, outside) = (base.join("rootfs"), base.join("outside"));
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink("/", root.join("toroot")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", root.join("up")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("abs")).unwrap();
        let mut sys = RealSys;
        let r = root.to_str().unwrap();
        // An absolute symlink to a host directory means that path *inside* the rootfs: the
        // missing directories are created there, never on the host.
        let inside = outside.strip_prefix("/").unwrap().join("c").to_string_lossy().into_owned();
        for (dest, expect) in [("toroot/a", "a"), ("up/b", "b"), ("abs/c", inside.as_str()), ("etc/../../../d", "d")] {
            let t = sys.prepare_target(r, dest, false).unwrap();
            assert!(t.starts_with("/proc/self/fd/"), "{t}");
            let real = std::fs::read_link(&t).unwrap();
            sys.release_target(&t);
            assert_eq!(real, root.join(expect), "{dest}");
        }
        // A destination that is the rootfs itself is refused.
        for dest in ["toroot", "up", "etc/../toroot/.."] {
            let e = sys.prepare_target(r, dest, false).unwrap_err();
            assert_eq!(e.errno, libc::EINVAL, "{dest}");
        }
        // A file mount point is created as a file, inside.
        let t = sys.prepare_target(r, "toroot/etc/f", true).unwrap();
        sys.release_target(&t);
        assert!(root.join("etc/f").is_file());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_failed_mount_names_the_step() {
        let steps = plan(&spec(), "/b/rootfs", None);
        let mut sys = RecordingSys { fail: vec![("mount proc".into(), libc::EACCES)], ..Default::default() };
        let err = execute(&mut sys, &steps).unwrap_err();
        assert_eq!(err.step, "mount proc on /proc");
        assert!(!sys.calls.iter().any(|c| c.starts_with("pivot_root")));
    }
}
