//! A container's files, for `diff`, `commit`, `export` and `cp`. All of them run inside the
//! held user namespace (the files belong to subordinate ids) and read or write through
//! directory file descriptors (ncx_core::tree), so no symlink leads out of a tree.
//!
//!   ncx-runtime layer-diff --upper DIR [--userns-pid PID] [--xattr-prefix P] LOWER… (topmost first)
//!       → JSON [{"k":"A|C|D","p":"/path","d":bool}…]
//!   ncx-runtime layer-tar --upper DIR [--userns-pid PID] [--xattr-prefix P] [--exclude-empty a,b]
//!       → the upper dir as an OCI layer tar (whiteouts as .wh. files) on stdout
//!   ncx-runtime export --root SPEC [--mountpoint DIR] [--userns-pid PID]
//!       → the root file system as a tar on stdout
//!   ncx-runtime cp --src-root SPEC --src PATH --dst-root SPEC --dst PATH [--mountpoint DIR] [--follow-link 1]
//!       → JSON {"bytes":N}; SPEC `tar` on one side: a tar stream on stdout (source
//!         entries named from the source's base name) or from stdin (unpacked into DEST, a directory)
//!
//!   ncx-runtime copy-up --root SPEC [--mountpoint DIR] [--userns-pid PID] DEST=DIR…
//!       → Docker's volume copy-up: the content of DEST in the root (resolved inside it) is
//!         copied into DIR (a new, empty volume) with owners and modes; DIR itself takes
//!         DEST's owner and mode. A DEST the image does not have (or not a directory) is skipped.
//!
//!   ncx-runtime shift-layer --src DIR --dest DIR --uid-map C:H:S[,…] --gid-map C:H:S[,…] [--xattr-prefix P]
//!       → an unpacked layer copied with every owner id translated through the maps (an id
//!         in C..C+S becomes H+(id-C)), whiteouts and opaque markers kept: the layer as a
//!         container with its own id mapping (`--userns keep-id`) must see it
//!
//!   ncx-runtime du [--userns-pid PID] DIR…
//!       → JSON [bytes…]: the regular files under each DIR, read inside the user namespace
//!         (directories of subordinate ids are not readable from outside); 0 for a missing DIR
//!
//! A root SPEC is `host` (host paths, resolved as usual), `pid:N` (a running container's root,
//! /proc/N/root), `dir:DIR` (a plain directory), or `overlay:DATA` (overlayfs mounted on
//! --mountpoint in a private mount namespace; read-only when DATA has no upperdir). Paths
//! in a container root are resolved with openat2(RESOLVE_IN_ROOT): `..` and symlinks stay in it.

use crate::{fail, Args};
use ncx_core::sys::cstr;
use ncx_core::tree::{self, Placement};
use ncx_core::unpack::open_in_root;
use ncx_core::userns;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

fn join_userns(args: &Args) {
    // A running container's root (`pid:N`): through the user namespace that owns it, reached
    // through its process (not the holder's, which may be another one since a restart), and
    // never a process that is not a container's (its /proc/N/root would be the host's /).
    let container = ["root", "src-root", "dst-root"].iter().find_map(|k| args.get(k).and_then(|s| s.strip_prefix("pid:")));
    if let Some(pid) = container {
        let pid: i32 = pid.parse().unwrap_or_else(|_| fail(&format!("invalid root pid:{pid}"), 125));
        match ncx_core::nsenter::join_owner(&mut ncx_core::sys::RealSys, pid) {
            Ok(joined) => {
                if joined {
                    userns::become_root();
                }
            }
            Err(e) => fail(&format!("cannot reach the container's files: {e}"), if e.gone() { 1 } else { 125 }),
        }
        return;
    }
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            fail(&e.to_string(), 125);
        }
    }
}

fn prefix(args: &Args) -> String {
    args.get("xattr-prefix").unwrap_or("trusted.").to_string()
}

pub fn layer_diff(args: &Args) {
    join_userns(args);
    let upper = tree::open_dir(args.require("upper")).unwrap_or_else(|e| fail(&format!("open upper dir: {e}"), 1));
    let lowers: Vec<OwnedFd> = args.words.iter().map(|l| tree::open_dir(l).unwrap_or_else(|e| fail(&format!("open layer {l}: {e}"), 1))).collect();
    match tree::diff(upper.as_raw_fd(), lowers, &prefix(args)) {
        Ok(changes) => {
            let v: Vec<serde_json::Value> = changes.iter().map(|c| serde_json::json!({ "k": c.kind.to_string(), "p": c.path, "d": c.dir })).collect();
            println!("{}", serde_json::Value::Array(v));
        }
        Err(e) => fail(&format!("read the container's changes: {e}"), 1),
    }
}

pub fn layer_tar(args: &Args) {
    join_userns(args);
    let upper = tree::open_dir(args.require("upper")).unwrap_or_else(|e| fail(&format!("open upper dir: {e}"), 1));
    let exclude = args.get("exclude-empty").unwrap_or("").split(',').filter(|s| !s.is_empty()).map(|s| s.trim_start_matches('/').as_bytes().to_vec()).collect();
    let opts = tree::TarOptions { oci_whiteouts: true, xattr_prefix: prefix(args), exclude_empty: exclude };
    write_tar(upper.as_raw_fd(), opts);
}

fn write_tar(root: RawFd, opts: tree::TarOptions) {
    let out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut w = tree::TarWriter::new(out, opts);
    let result = w.add_children(root, b"").and_then(|_| w.finish()).and_then(|mut o| o.flush());
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        fail(&format!("write tar: {e}"), 1);
    }
}

/// Open a root as SPEC says (see the module comment).
fn open_root(spec: &str, mountpoint: Option<&str>) -> Result<OwnedFd, String> {
    if spec == "host" {
        return tree::open_dir("/").map_err(|e| format!("open /: {e}"));
    }
    if let Some(pid) = spec.strip_prefix("pid:") {
        return tree::open_dir(&format!("/proc/{pid}/root")).map_err(|e| format!("open the container's root (pid {pid}): {e}"));
    }
    if let Some(dir) = spec.strip_prefix("dir:") {
        return tree::open_dir(dir).map_err(|e| format!("open {dir}: {e}"));
    }
    if let Some(data) = spec.strip_prefix("overlay:") {
        let Some(mp) = mountpoint else { return Err("missing --mountpoint".into()) };
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) < 0 {
                return Err(format!("unshare mount namespace: {}", std::io::Error::last_os_error()));
            }
            let root = cstr("/");
            libc::mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null());
            let flags = if data.contains("upperdir=") { 0 } else { libc::MS_RDONLY };
            let (src, target, d) = (cstr("overlay"), cstr(mp), cstr(data));
            if libc::mount(src.as_ptr(), target.as_ptr(), src.as_ptr(), flags, d.as_ptr() as *const libc::c_void) < 0 {
                return Err(format!("mount the container's file system: {}", std::io::Error::last_os_error()));
            }
        }
        return tree::open_dir(mp).map_err(|e| format!("open {mp}: {e}"));
    }
    Err(format!("invalid root {spec:?}"))
}

pub fn export(args: &Args) {
    join_userns(args);
    let root = open_root(args.require("root"), args.get("mountpoint")).unwrap_or_else(|e| fail(&e, 1));
    write_tar(root.as_raw_fd(), tree::TarOptions::default());
}

/// One side of a copy: a root and a path in it, with Docker's trailing `/` and `/.`.
struct Side {
    root: OwnedFd,
    host: bool,
    /// Path components (`.` and empty ones dropped).
    comps: Vec<String>,
    slash: bool,
    contents: bool,
}

impl Side {
    fn new(root: OwnedFd, host: bool, path: &str) -> Side {
        let contents = path.ends_with("/.") || path == ".";
        let slash = path.ends_with('/');
        let comps = path.split('/').filter(|c| !c.is_empty() && *c != ".").map(String::from).collect();
        Side { root, host, comps, slash, contents }
    }

    fn shown(&self) -> String {
        format!("/{}", self.comps.join("/"))
    }

    /// Open `rel` below the root: in a container root, confined to it; on the host, as usual.
    fn open(&self, rel: &str, flags: i32) -> std::io::Result<OwnedFd> {
        if self.host {
            let c = tree::cname(if rel.is_empty() { b"." } else { rel.as_bytes() })?;
            let fd = unsafe { libc::openat(self.root.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
        } else {
            open_in_root(self.root.as_raw_fd(), rel, flags)
        }
    }

    /// The parent directory and the last name; None when the path names the root or ends in `..`.
    fn split(&self) -> Option<(String, String)> {
        let (last, parent) = self.comps.split_last()?;
        if last == ".." {
            return None;
        }
        Some((parent.join("/"), last.clone()))
    }
}

enum Src {
    /// An entry, not followed.
    At(OwnedFd, std::ffi::CString, libc::stat),
    /// A directory (or followed symlink) opened as a whole.
    Fd(OwnedFd, libc::stat),
}

fn cp_fail(msg: String) -> ! {
    fail(&msg, 1)
}

pub fn cp(args: &Args) {
    join_userns(args);
    let mountpoint = args.get("mountpoint");
    let (src_spec, dst_spec) = (args.require("src-root"), args.require("dst-root"));
    let container = |s: &str| s != "host" && s != "tar";
    if container(src_spec) && container(dst_spec) {
        fail("copying between containers is not supported", 125);
    }
    if src_spec == "tar" {
        return cp_from_tar(args, dst_spec, mountpoint);
    }
    let src_root = open_root(src_spec, mountpoint).unwrap_or_else(|e| fail(&e, 1));
    let dst_root = if dst_spec == "tar" { tree::open_dir("/").unwrap_or_else(|e| fail(&e.to_string(), 1)) } else { open_root(dst_spec, mountpoint).unwrap_or_else(|e| fail(&e, 1)) };
    let src = Side::new(src_root, src_spec == "host", args.require("src"));
    let dst = Side::new(dst_root, dst_spec == "host", args.require("dst"));
    let follow = args.get("follow-link") == Some("1");
    let not_found = |side: &Side| -> String {
        if side.host {
            format!("lstat {}: no such file or directory", side.shown())
        } else {
            format!("Could not find the file {} in container", side.shown())
        }
    };

    // The source.
    let src_entry = match src.split() {
        None => {
            let fd = src.open(&src.comps.join("/"), libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or_else(|_| cp_fail(not_found(&src)));
            let st = tree::fstat(fd.as_raw_fd()).unwrap_or_else(|e| cp_fail(e.to_string()));
            Src::Fd(fd, st)
        }
        Some((parent, name)) => {
            let pfd = src.open(&parent, libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or_else(|_| cp_fail(not_found(&src)));
            let cn = tree::cname(name.as_bytes()).unwrap_or_else(|e| cp_fail(e.to_string()));
            let st = tree::lstat_at(pfd.as_raw_fd(), &cn).unwrap_or_else(|_| cp_fail(not_found(&src)));
            let link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
            if link && (follow || src.slash || src.contents) {
                let fd = src.open(&src.comps.join("/"), libc::O_RDONLY).unwrap_or_else(|_| cp_fail(not_found(&src)));
                let st = tree::fstat(fd.as_raw_fd()).unwrap_or_else(|e| cp_fail(e.to_string()));
                Src::Fd(fd, st)
            } else {
                Src::At(pfd, cn, st)
            }
        }
    };
    let (src_st, src_name) = match &src_entry {
        Src::At(_, n, st) => (*st, n.clone()),
        Src::Fd(_, st) => (*st, tree::cname(src.comps.last().map(|s| s.as_bytes()).unwrap_or(b"rootfs")).unwrap()),
    };
    let src_dir = tree::is_dir(&src_st);
    if dst_spec == "tar" {
        return cp_to_tar(&src, &src_entry, &src_name, src_dir);
    }

    // The destination: (parent dir, name) and what is there now.
    let (dparent, dname, existing): (Option<OwnedFd>, Option<std::ffi::CString>, Option<OwnedFd>) = match dst.split() {
        None => {
            let fd = dst.open(&dst.comps.join("/"), libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or_else(|e| cp_fail(format!("destination {}: {e}", dst.shown())));
            (None, None, Some(fd))
        }
        Some((parent, name)) => {
            // (a file to `DIR/` that is not there: Docker's "no such directory", as placement() words it)
            let pfd = dst.open(&parent, libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or_else(|_| {
                cp_fail(if !src_dir && dst.slash { "no such directory".into() } else { format!("destination directory /{parent} does not exist") })
            });
            let cn = tree::cname(name.as_bytes()).unwrap_or_else(|e| cp_fail(e.to_string()));
            // A directory there (or a symlink to one, resolved in the same root) receives the copy.
            let dir = match tree::lstat_at(pfd.as_raw_fd(), &cn) {
                Ok(st) if tree::is_dir(&st) => Some(tree::open_dir_at(pfd.as_raw_fd(), &cn).unwrap_or_else(|e| cp_fail(e.to_string()))),
                Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => dst.open(&dst.comps.join("/"), libc::O_RDONLY | libc::O_DIRECTORY).ok(),
                _ => None,
            };
            let exists = dir.is_some() || tree::lstat_at(pfd.as_raw_fd(), &cn).is_ok();
            if !exists {
                (Some(pfd), Some(cn), None)
            } else if dir.is_some() {
                (Some(pfd), Some(cn), dir)
            } else {
                // An existing non-directory: `existing` stays None but the name is taken.
                let place = tree::placement(src_dir, src.contents, src.slash, Some(false), dst.slash).unwrap_or_else(|e| cp_fail(e));
                debug_assert_eq!(place, Placement::As);
                let n = copy_to(&src_entry, pfd.as_raw_fd(), &cn);
                println!("{}", serde_json::json!({ "bytes": n }));
                return;
            }
        }
    };
    let dst_state = existing.as_ref().map(|_| true);
    let place = tree::placement(src_dir, src.contents, src.slash, dst_state, dst.slash).unwrap_or_else(|e| cp_fail(e));
    let n = match place {
        Placement::As => copy_to(&src_entry, dparent.as_ref().unwrap().as_raw_fd(), dname.as_ref().unwrap()),
        Placement::Into if src.split().is_none() => copy_contents(&src_entry, existing.as_ref().unwrap().as_raw_fd()),
        Placement::Into => copy_to(&src_entry, existing.as_ref().unwrap().as_raw_fd(), &src_name),
        Placement::Contents => copy_contents(&src_entry, existing.as_ref().unwrap().as_raw_fd()),
    };
    println!("{}", serde_json::json!({ "bytes": n }));
}

fn copy_to(src: &Src, ddir: RawFd, dname: &std::ffi::CStr) -> u64 {
    let r = match src {
        Src::At(p, n, _) => tree::copy_entry(p.as_raw_fd(), n, ddir, dname, false),
        Src::Fd(fd, st) if tree::is_dir(st) => {
            let dir = tree::open_dir_at(fd.as_raw_fd(), c".").unwrap_or_else(|e| cp_fail(e.to_string()));
            tree::copy_dir(dir.as_raw_fd(), st, ddir, dname)
        }
        // A followed symlink: copy what it points to (the fd reached it inside the root).
        Src::Fd(fd, _) => tree::copy_entry(fd.as_raw_fd(), c"", ddir, dname, false).or_else(|_| copy_fd_file(fd.as_raw_fd(), ddir, dname)),
    };
    r.unwrap_or_else(|e| cp_fail(format!("copy: {e}")))
}

fn copy_fd_file(fd: RawFd, ddir: RawFd, dname: &std::ffi::CStr) -> std::io::Result<u64> {
    // Reopen through /proc/self/fd to get a fresh offset, then copy into a new file.
    let path = format!("/proc/self/fd/{fd}");
    let mut from = std::fs::File::open(path)?;
    let st = tree::fstat(from.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Ok(0);
    }
    let _ = unsafe { libc::unlinkat(ddir, dname.as_ptr(), 0) };
    let out = unsafe { libc::openat(ddir, dname.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0o600) };
    if out < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut to = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(out) };
    let n = std::io::copy(&mut from, &mut to)?;
    unsafe { libc::fchmod(out, st.st_mode & 0o7777) };
    Ok(n)
}

fn copy_contents(src: &Src, ddir: RawFd) -> u64 {
    let r = match src {
        Src::At(p, n, _) => tree::open_dir_at(p.as_raw_fd(), n).and_then(|d| tree::copy_contents(d.as_raw_fd(), ddir)),
        Src::Fd(fd, _) => tree::open_dir_at(fd.as_raw_fd(), c".").and_then(|d| tree::copy_contents(d.as_raw_fd(), ddir)),
    };
    r.unwrap_or_else(|e| cp_fail(format!("copy: {e}")))
}

/// `cp CONTAINER:SRC -`: the source as a tar stream on stdout, named from its base name
/// (its contents, unprefixed, for `SRC/.`).
fn cp_to_tar(src: &Side, entry: &Src, name: &std::ffi::CStr, src_dir: bool) {
    if !src_dir && (src.slash || src.contents) {
        cp_fail("not a directory".into());
    }
    let out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut w = tree::TarWriter::new(out, tree::TarOptions::default());
    let base = name.to_bytes().to_vec();
    let r = match entry {
        Src::At(p, n, _) if src.contents => tree::open_dir_at(p.as_raw_fd(), n).and_then(|d| w.add_children(d.as_raw_fd(), b"")),
        Src::At(p, n, _) => w.add(p.as_raw_fd(), n, &base),
        Src::Fd(fd, st) if tree::is_dir(st) && src.contents => w.add_children(fd.as_raw_fd(), b""),
        Src::Fd(fd, st) if tree::is_dir(st) => w.add(fd.as_raw_fd(), c".", &base),
        Src::Fd(..) => Err(std::io::Error::other("copying a followed symlink to a file into a tar stream is not supported")),
    };
    let r = r.and_then(|_| w.finish()).and_then(|mut o| o.flush());
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => cp_fail(format!("write tar: {e}")),
    }
}

/// `cp - CONTAINER:DEST`: unpack a tar stream from stdin into the directory DEST, confined to it.
fn cp_from_tar(args: &Args, dst_spec: &str, mountpoint: Option<&str>) {
    let root = open_root(dst_spec, mountpoint).unwrap_or_else(|e| fail(&e, 1));
    let dst = Side::new(root, dst_spec == "host", args.require("dst"));
    let dir = dst
        .open(&dst.comps.join("/"), libc::O_RDONLY | libc::O_DIRECTORY)
        .unwrap_or_else(|_| cp_fail(format!("destination {} must be a directory when copying from a tar stream", dst.shown())));
    let opts = ncx_core::unpack::UnpackOptions { xattr_prefix: prefix(args) };
    // The directory is reached through its descriptor: nothing on the way is looked up again.
    match ncx_core::unpack::unpack(std::io::stdin(), &format!("/proc/self/fd/{}", dir.as_raw_fd()), opts) {
        Ok(r) => println!("{}", serde_json::json!({ "bytes": r.size })),
        Err(e) => cp_fail(format!("copy: {e}")),
    }
}

pub fn copy_up(args: &Args) {
    join_userns(args);
    let root = open_root(args.require("root"), args.get("mountpoint")).unwrap_or_else(|e| fail(&e, 1));
    let mut copied = Vec::new();
    for word in &args.words {
        let Some((dest, dir)) = word.split_once('=') else { fail(&format!("invalid copy-up {word:?}: expected DEST=DIR"), 125) };
        let rel = dest.trim_start_matches('/');
        let src = match open_in_root(root.as_raw_fd(), rel, libc::O_RDONLY | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => continue,
            Err(e) => fail(&format!("copy-up: open {dest} in the image: {e}"), 1),
        };
        // A destination leading back to the root (a symlink to `/` or `..`) is not copied:
        // the mount there is refused too.
        let (s, r) = (tree::fstat(src.as_raw_fd()), tree::fstat(root.as_raw_fd()));
        if let (Ok(s), Ok(r)) = (s, r) {
            if s.st_dev == r.st_dev && s.st_ino == r.st_ino {
                continue;
            }
        }
        let dst = tree::open_dir(dir).unwrap_or_else(|e| fail(&format!("copy-up: open the volume {dir}: {e}"), 1));
        let result = tree::copy_contents(src.as_raw_fd(), dst.as_raw_fd()).and_then(|_| tree::copy_owners(src.as_raw_fd(), dst.as_raw_fd())).and_then(|_| {
            let st = tree::fstat(src.as_raw_fd())?;
            unsafe {
                libc::fchown(dst.as_raw_fd(), st.st_uid, st.st_gid);
                libc::fchmod(dst.as_raw_fd(), st.st_mode & 0o7777);
            }
            Ok(())
        });
        if let Err(e) = result {
            fail(&format!("copy-up of {dest} into the volume: {e}"), 1);
        }
        copied.push(dest.to_string());
    }
    println!("{}", serde_json::json!({ "copied": copied }));
}

pub fn shift_layer(args: &Args) {
    join_userns(args);
    let maps = |k: &str| userns::parse_maps(args.require(k)).unwrap_or_else(|e| fail(&e.to_string(), 125));
    let (umap, gmap) = (maps("uid-map"), maps("gid-map"));
    let translate = |maps: &[userns::IdMap], id: u32| {
        maps.iter().find(|m| id >= m.container && id - m.container < m.size).map(|m| m.host + (id - m.container)).unwrap_or(id)
    };
    let (src_path, dest_path) = (args.require("src"), args.require("dest"));
    let src = tree::open_dir(src_path).unwrap_or_else(|e| fail(&format!("open layer {src_path}: {e}"), 1));
    if let Err(e) = std::fs::create_dir(dest_path) {
        fail(&format!("create {dest_path}: {e}"), 1);
    }
    let dst = tree::open_dir(dest_path).unwrap_or_else(|e| fail(&format!("open {dest_path}: {e}"), 1));
    let prefix = prefix(args);
    let result = tree::copy_contents(src.as_raw_fd(), dst.as_raw_fd())
        .and_then(|_| tree::copy_owners_mapped(src.as_raw_fd(), dst.as_raw_fd(), &|u| translate(&umap, u), &|g| translate(&gmap, g), Some(&prefix)))
        .and_then(|_| {
            let st = tree::fstat(src.as_raw_fd())?;
            unsafe {
                libc::fchown(dst.as_raw_fd(), translate(&umap, st.st_uid), translate(&gmap, st.st_gid));
                libc::fchmod(dst.as_raw_fd(), st.st_mode & 0o7777);
            }
            Ok(())
        });
    if let Err(e) = result {
        fail(&format!("copy layer {src_path} for the id mapping: {e}"), 1);
    }
}

pub fn du(args: &Args) {
    join_userns(args);
    let mut seen = std::collections::HashSet::new();
    let sizes: Vec<u64> = args
        .words
        .iter()
        .map(|d| match tree::open_dir(d) {
            Ok(fd) => tree::tree_bytes(fd.as_raw_fd(), &mut seen).unwrap_or(0),
            Err(_) => 0,
        })
        .collect();
    println!("{}", serde_json::json!(sizes));
}
