//! File work for `ncx build` (COPY/ADD and the layers RUN leaves), done inside the held user
//! namespace through directory file descriptors. What to copy, and with which owners and
//! modes, is decided by the engine (Docker's COPY semantics live there); this module does
//! the work without ever letting a symlink lead outside a root:
//!
//! - `root_path` resolves a path inside a root the way Docker resolves a COPY destination
//!   (symlinks followed, `..` and absolute link targets kept inside the root);
//! - `list` reads the metadata of trees in a root (for `COPY --from=stage`);
//! - `CopyPlan` creates entries below a destination, never following a symlink below it;
//! - `prune_stubs` removes the empty mount points a RUN leaves in its upper directory.
//!
//! (Over 600 lines, about 190 of them its tests: the resolution and the copy share the same
//! no-symlink-out rules and are read together.)

use crate::tree::{self, cname, fstat, list_dir, lstat_at, open_dir_at, readlink_at};
use crate::unpack::open_in_root;
use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn kind(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

fn err(msg: String) -> io::Error {
    io::Error::other(msg)
}

/// The components of a slash path, `.` and empty ones dropped, `..` applied without
/// leaving the root.
pub fn clean_components(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other.to_string()),
        }
    }
    out
}

/// Resolve `path` inside the root `root` with every symlink followed (the last component
/// too, when `follow_last`), as Docker's fs.RootPath does: absolute link targets restart at
/// the root and `..` never climbs above it. Returns the resolved components.
pub fn root_path(root: RawFd, path: &str, follow_last: bool) -> io::Result<Vec<String>> {
    let mut pending: Vec<String> = clean_components(path);
    pending.reverse();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        if comp == ".." {
            resolved.pop();
            continue;
        }
        if comp == "." || comp.is_empty() {
            continue;
        }
        let last = pending.is_empty();
        let dir = match open_in_root(root, &resolved.join("/"), libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(_) => {
                // A missing (or non-directory) parent: the rest is taken literally.
                resolved.push(comp);
                while let Some(c) = pending.pop() {
                    if c == ".." {
                        resolved.pop();
                    } else if c != "." && !c.is_empty() {
                        resolved.push(c);
                    }
                }
                return Ok(resolved);
            }
        };
        let cn = cname(comp.as_bytes())?;
        match lstat_at(dir.as_raw_fd(), &cn) {
            Ok(st) if kind(&st) == libc::S_IFLNK && (!last || follow_last) => {
                links += 1;
                if links > 255 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = String::from_utf8_lossy(&readlink_at(dir.as_raw_fd(), &cn)?).to_string();
                if target.starts_with('/') {
                    resolved.clear();
                }
                let mut more: Vec<String> = target.split('/').filter(|c| !c.is_empty()).map(String::from).collect();
                more.reverse();
                pending.extend(more);
            }
            _ => resolved.push(comp),
        }
    }
    Ok(resolved)
}

/// One entry of a listed tree.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Path relative to the listed top ("" for the top itself).
    pub path: String,
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, i64),
    pub link: Option<String>,
}

fn kind_char(st: &libc::stat) -> char {
    match kind(st) {
        libc::S_IFDIR => 'd',
        libc::S_IFREG => 'f',
        libc::S_IFLNK => 'l',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        _ => 's',
    }
}

fn listed(path: String, st: &libc::stat, link: Option<String>) -> Listed {
    Listed {
        path,
        kind: kind_char(st),
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        size: st.st_size as u64,
        mtime: (st.st_mtime, st.st_mtime_nsec),
        link,
    }
}

/// List the tree at `components` (already resolved) in `root`: the top, then (for a
/// directory, up to `depth` levels; `None` = all) its entries, parents before children,
/// names sorted. Symlinks below the top are listed, not followed.
pub fn list(root: RawFd, components: &[String], depth: Option<u32>) -> io::Result<Vec<Listed>> {
    let (parent, name) = match components.split_last() {
        Some((name, parent)) => (open_in_root(root, &parent.join("/"), libc::O_PATH | libc::O_DIRECTORY)?, name.clone()),
        None => {
            let fd = open_in_root(root, "", libc::O_RDONLY | libc::O_DIRECTORY)?;
            let st = fstat(fd.as_raw_fd())?;
            let mut out = vec![listed(String::new(), &st, None)];
            walk(fd.as_raw_fd(), "", depth, &mut out)?;
            return Ok(out);
        }
    };
    let cn = cname(name.as_bytes())?;
    let st = lstat_at(parent.as_raw_fd(), &cn)?;
    let link = if kind(&st) == libc::S_IFLNK { Some(String::from_utf8_lossy(&readlink_at(parent.as_raw_fd(), &cn)?).to_string()) } else { None };
    let mut out = vec![listed(String::new(), &st, link)];
    if tree::is_dir(&st) && depth != Some(0) {
        let fd = open_dir_at(parent.as_raw_fd(), &cn)?;
        walk(fd.as_raw_fd(), "", depth, &mut out)?;
    }
    Ok(out)
}

fn walk(dir: RawFd, prefix: &str, depth: Option<u32>, out: &mut Vec<Listed>) -> io::Result<()> {
    if depth == Some(0) {
        return Ok(());
    }
    for name in list_dir(dir)? {
        let cn = cname(&name)?;
        let st = lstat_at(dir, &cn)?;
        let n = String::from_utf8_lossy(&name).to_string();
        let path = if prefix.is_empty() { n } else { format!("{prefix}/{n}") };
        let link = if kind(&st) == libc::S_IFLNK { Some(String::from_utf8_lossy(&readlink_at(dir, &cn)?).to_string()) } else { None };
        out.push(listed(path.clone(), &st, link));
        if tree::is_dir(&st) {
            let sub = open_dir_at(dir, &cn)?;
            walk(sub.as_raw_fd(), &path, depth.map(|d| d - 1), out)?;
        }
    }
    Ok(())
}

/// Owner, mode and time an entry gets.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub mtime: (i64, i64),
}

/// What a copied entry is.
#[derive(Debug, Clone)]
pub enum EntryKind {
    Dir,
    /// A regular file read from `src` (a path relative to the source root, resolved in it).
    File { src: String },
    Symlink { target: String },
    /// A FIFO (devices cannot be made in a user namespace; sockets are skipped).
    Fifo,
    /// A file with the given content (heredocs, downloaded files are written by the caller).
    Data { data: Vec<u8> },
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// Path relative to the item's target.
    pub path: String,
    pub kind: EntryKind,
    pub meta: Meta,
}

/// One COPY source: its top entry (path "") and, for a directory, its contents.
#[derive(Debug, Clone)]
pub struct Item {
    /// Index of the source root in the roots given to `copy_items`.
    pub source: usize,
    /// The source's base name (a file copied into an existing directory keeps it).
    pub base: String,
    pub top: Entry,
    pub children: Vec<Entry>,
}

/// Owner and mode of directories a copy creates on the way to its destination.
#[derive(Debug, Clone, Copy)]
pub struct MkdirOwner {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

fn set_meta(dir: RawFd, name: &CString, meta: &Meta, symlink: bool) -> io::Result<()> {
    check(unsafe { libc::fchownat(dir, name.as_ptr(), meta.uid, meta.gid, libc::AT_SYMLINK_NOFOLLOW) })?;
    if !symlink {
        // chown clears set-id bits: the mode goes on afterwards.
        check(unsafe { libc::fchmodat(dir, name.as_ptr(), meta.mode & 0o7777, 0) })?;
    }
    set_time(dir, name, meta.mtime)
}

fn set_time(dir: RawFd, name: &CString, mtime: (i64, i64)) -> io::Result<()> {
    let t = [libc::timespec { tv_sec: mtime.0, tv_nsec: mtime.1 }, libc::timespec { tv_sec: mtime.0, tv_nsec: mtime.1 }];
    check(unsafe { libc::utimensat(dir, name.as_ptr(), t.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(|_| ())
}

/// Create the missing directories of `components` (resolved, inside `root`), each with `owner`.
pub fn mkdir_all(root: RawFd, components: &[String], owner: MkdirOwner) -> io::Result<()> {
    for i in 0..components.len() {
        let prefix = components[..=i].join("/");
        match open_in_root(root, &prefix, libc::O_PATH) {
            Ok(fd) => {
                if !tree::is_dir(&fstat(fd.as_raw_fd())?) {
                    return Err(err(format!("mkdir /{prefix}: not a directory")));
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                let parent = open_in_root(root, &components[..i].join("/"), libc::O_RDONLY | libc::O_DIRECTORY)?;
                let cn = cname(components[i].as_bytes())?;
                check(unsafe { libc::mkdirat(parent.as_raw_fd(), cn.as_ptr(), 0o700) })?;
                check(unsafe { libc::fchownat(parent.as_raw_fd(), cn.as_ptr(), owner.uid, owner.gid, libc::AT_SYMLINK_NOFOLLOW) })?;
                check(unsafe { libc::fchmodat(parent.as_raw_fd(), cn.as_ptr(), owner.mode & 0o7777, 0) })?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens source files by their path in a source root.
pub trait SourceRoots {
    fn open(&self, source: usize, path: &str) -> io::Result<OwnedFd>;
}

/// Root fds, opened or mounted by the caller.
pub struct Roots(pub Vec<OwnedFd>);

impl SourceRoots for Roots {
    fn open(&self, source: usize, path: &str) -> io::Result<OwnedFd> {
        let root = self.0.get(source).ok_or_else(|| err(format!("no source root {source}")))?;
        open_in_root(root.as_raw_fd(), path.trim_start_matches('/'), libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NOCTTY)
    }
}

/// Copy one item to `dest` (a path inside `root`, trailing `/` meaning a directory) with
/// BuildKit's rules: a file onto an existing directory goes inside it; a directory's
/// contents are merged into the destination (created with `mkdir` when missing); existing
/// directories keep their metadata at the top and take the source's below it.
pub fn copy_item(root: RawFd, dest: &str, item: &Item, mkdir: MkdirOwner, sources: &dyn SourceRoots, links: &mut HashMap<String, Vec<String>>) -> io::Result<u64> {
    let dest_comps = root_path(root, dest, true)?;
    // A destination ending in `/` is a directory, made first when missing.
    if dest.ends_with('/') || dest.ends_with("/.") {
        mkdir_all(root, &dest_comps, mkdir)?;
    }
    let existing = match open_in_root(root, &dest_comps.join("/"), libc::O_PATH) {
        Ok(fd) => Some(tree::is_dir(&fstat(fd.as_raw_fd())?)),
        Err(_) => None,
    };
    let src_dir = matches!(item.top.kind, EntryKind::Dir);
    let mut target = dest_comps.clone();
    if !src_dir && existing == Some(true) {
        target.push(item.base.clone());
    }
    let parent_comps: Vec<String> = if src_dir && existing.is_none() { target.clone() } else { target[..target.len().saturating_sub(1)].to_vec() };
    mkdir_all(root, &parent_comps, mkdir)?;
    let mut bytes = 0;
    if src_dir {
        // The destination directory itself: made above when missing (with the mkdir owner),
        // kept as it is when present.
        if target.is_empty() {
            // the root
        } else {
            let parent = open_in_root(root, &target[..target.len() - 1].join("/"), libc::O_RDONLY | libc::O_DIRECTORY)?;
            let cn = cname(target[target.len() - 1].as_bytes())?;
            match lstat_at(parent.as_raw_fd(), &cn) {
                Ok(st) if tree::is_dir(&st) => {}
                Ok(_) => return Err(err(format!("cannot copy to non-directory: /{}", target.join("/")))),
                Err(_) => {
                    check(unsafe { libc::mkdirat(parent.as_raw_fd(), cn.as_ptr(), 0o700) })?;
                    set_meta(parent.as_raw_fd(), &cn, &item.top.meta, false)?;
                }
            }
        }
        let top = open_in_root(root, &target.join("/"), libc::O_RDONLY | libc::O_DIRECTORY)?;
        let mut dir_times: Vec<(String, (i64, i64))> = Vec::new();
        for e in &item.children {
            bytes += create(top.as_raw_fd(), e, true, &target, item.source, sources, links, &mut dir_times)?;
        }
        for (path, t) in dir_times.iter().rev() {
            let comps = clean_components(path);
            let (name, parent) = comps.split_last().unwrap();
            let p = open_dir_path(top.as_raw_fd(), parent)?;
            set_time(p.as_raw_fd(), &cname(name.as_bytes())?, *t)?;
        }
    } else {
        let (name, parent) = target.split_last().ok_or_else(|| err("cannot copy a file to the root directory".into()))?;
        let p = open_in_root(root, &parent.join("/"), libc::O_RDONLY | libc::O_DIRECTORY)?;
        let mut e = item.top.clone();
        e.path = name.clone();
        let mut none = Vec::new();
        bytes += create(p.as_raw_fd(), &e, false, &parent.to_vec(), item.source, sources, links, &mut none)?;
    }
    Ok(bytes)
}

/// Open the directory `comps` below `dir`, never through a symlink.
fn open_dir_path(dir: RawFd, comps: &[String]) -> io::Result<OwnedFd> {
    let mut cur = unsafe { OwnedFd::from_raw_fd(check(libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 0))?) };
    for c in comps {
        let cn = cname(c.as_bytes())?;
        cur = open_dir_at(cur.as_raw_fd(), &cn).map_err(|e| if e.raw_os_error() == Some(libc::ENOTDIR) || e.raw_os_error() == Some(libc::ELOOP) { err(format!("cannot copy to non-directory: {c}")) } else { e })?;
    }
    Ok(cur)
}

/// Remove a non-directory at `name`; a directory there is an error for a non-directory entry.
fn clear_for(dir: RawFd, name: &CString, shown: &str) -> io::Result<()> {
    match lstat_at(dir, name) {
        Ok(st) if tree::is_dir(&st) => Err(err(format!("cannot replace to directory {shown} with file"))),
        Ok(_) => check(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map(|_| ()),
        Err(_) => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)]
fn create(base: RawFd, e: &Entry, below: bool, base_comps: &[String], source: usize, sources: &dyn SourceRoots, links: &mut HashMap<String, Vec<String>>, dir_times: &mut Vec<(String, (i64, i64))>) -> io::Result<u64> {
    let comps = clean_components(&e.path);
    let Some((name, parent)) = comps.split_last() else { return Ok(0) };
    let pdir = open_dir_path(base, parent)?;
    let d = pdir.as_raw_fd();
    let cn = cname(name.as_bytes())?;
    let shown = format!("/{}", [base_comps, &comps[..]].concat().join("/"));
    match &e.kind {
        EntryKind::Dir => {
            match lstat_at(d, &cn) {
                Ok(st) if tree::is_dir(&st) => {}
                Ok(_) => return Err(err(format!("cannot copy to non-directory: {shown}"))),
                Err(_) => {
                    check(unsafe { libc::mkdirat(d, cn.as_ptr(), 0o700) })?;
                }
            }
            if below {
                set_meta(d, &cn, &e.meta, false)?;
                dir_times.push((e.path.clone(), e.meta.mtime));
            }
            Ok(0)
        }
        EntryKind::File { src } => {
            clear_for(d, &cn, &shown)?;
            let from = sources.open(source, src)?;
            let st = fstat(from.as_raw_fd())?;
            if !tree::is_dir(&st) && kind(&st) != libc::S_IFREG {
                return Err(err(format!("{src}: not a regular file")));
            }
            // Hard links within one copy stay hard links (BuildKit's copier does the same).
            let id = format!("{}:{}:{}", source, st.st_dev, st.st_ino);
            if st.st_nlink > 1 {
                if let Some(first) = links.get(&id).cloned() {
                    let first_dir = open_dir_path(base, &first[..first.len() - 1])?;
                    let fname = cname(first[first.len() - 1].as_bytes())?;
                    if unsafe { libc::linkat(first_dir.as_raw_fd(), fname.as_ptr(), d, cn.as_ptr(), 0) } == 0 {
                        return Ok(0);
                    }
                }
                links.insert(id, comps.clone());
            }
            let to = unsafe { libc::openat(d, cn.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0o600) };
            let to = unsafe { OwnedFd::from_raw_fd(check(to)?) };
            let n = copy_data(from.as_raw_fd(), to.as_raw_fd())?;
            copy_xattrs(from.as_raw_fd(), to.as_raw_fd());
            drop(to);
            set_meta(d, &cn, &e.meta, false)?;
            Ok(n)
        }
        EntryKind::Data { data } => {
            clear_for(d, &cn, &shown)?;
            let to = unsafe { libc::openat(d, cn.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0o600) };
            let mut f = unsafe { std::fs::File::from_raw_fd(check(to)?) };
            io::Write::write_all(&mut f, data)?;
            drop(f);
            set_meta(d, &cn, &e.meta, false)?;
            Ok(data.len() as u64)
        }
        EntryKind::Symlink { target } => {
            clear_for(d, &cn, &shown)?;
            let t = cname(target.as_bytes())?;
            check(unsafe { libc::symlinkat(t.as_ptr(), d, cn.as_ptr()) })?;
            set_meta(d, &cn, &e.meta, true)?;
            Ok(0)
        }
        EntryKind::Fifo => {
            clear_for(d, &cn, &shown)?;
            check(unsafe { libc::mknodat(d, cn.as_ptr(), libc::S_IFIFO | 0o600, 0) })?;
            set_meta(d, &cn, &e.meta, false)?;
            Ok(0)
        }
    }
}

/// Copy a file's bytes (copy_file_range where the file system offers it).
fn copy_data(from: RawFd, to: RawFd) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let n = unsafe { libc::copy_file_range(from, std::ptr::null_mut(), to, std::ptr::null_mut(), 1 << 30, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if total == 0 && matches!(e.raw_os_error(), Some(libc::EXDEV) | Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)) {
                let mut f = unsafe { std::fs::File::from_raw_fd(check(libc::fcntl(from, libc::F_DUPFD_CLOEXEC, 0))?) };
                let mut t = unsafe { std::fs::File::from_raw_fd(check(libc::fcntl(to, libc::F_DUPFD_CLOEXEC, 0))?) };
                return io::copy(&mut f, &mut t);
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// Extended attributes (file capabilities and the like), best effort; overlay's own are not copied.
fn copy_xattrs(from: RawFd, to: RawFd) {
    let mut names = vec![0u8; 4096];
    let n = unsafe { libc::flistxattr(from, names.as_mut_ptr() as *mut libc::c_char, names.len()) };
    if n <= 0 {
        return;
    }
    for name in names[..n as usize].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let s = String::from_utf8_lossy(name);
        if s.starts_with("user.overlay.") || s.starts_with("trusted.overlay.") {
            continue;
        }
        let Ok(cn) = cname(name) else { continue };
        let mut value = vec![0u8; 65536];
        let len = unsafe { libc::fgetxattr(from, cn.as_ptr(), value.as_mut_ptr() as *mut libc::c_void, value.len()) };
        if len >= 0 {
            unsafe { libc::fsetxattr(to, cn.as_ptr(), value.as_ptr() as *const libc::c_void, len as usize, 0) };
        }
    }
}

/// Is `path` (components) present in the merged view of `lowers` (topmost first)? A
/// whiteout or an opaque directory above hides what is below.
fn in_lowers(lowers: &[OwnedFd], comps: &[String], xattr_prefix: &str) -> Option<libc::stat> {
    'layers: for l in lowers {
        let mut dir = unsafe { OwnedFd::from_raw_fd(libc::fcntl(l.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0)) };
        for (i, c) in comps.iter().enumerate() {
            let Ok(cn) = cname(c.as_bytes()) else { return None };
            let st = match lstat_at(dir.as_raw_fd(), &cn) {
                Ok(st) => st,
                Err(_) => {
                    if tree::is_opaque(dir.as_raw_fd(), xattr_prefix) {
                        return None;
                    }
                    continue 'layers;
                }
            };
            if tree::is_whiteout(&st) {
                return None;
            }
            if i == comps.len() - 1 {
                return Some(st);
            }
            if !tree::is_dir(&st) {
                return None;
            }
            match open_dir_at(dir.as_raw_fd(), &cn) {
                Ok(fd) => dir = fd,
                Err(_) => return None,
            }
        }
    }
    None
}

/// Remove the mount points a RUN left in its upper directory `upper`: each stub that is an
/// empty file or directory the layers below do not have, then its parent directories that
/// are empty and either new or mere copies (same owner and mode) of a lower directory.
pub fn prune_stubs(upper: RawFd, lowers: &[OwnedFd], stubs: &[String], xattr_prefix: &str) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for stub in stubs {
        let comps = clean_components(stub);
        let Some((name, parent)) = comps.split_last() else { continue };
        let Ok(pdir) = open_dir_path(upper, parent) else { continue };
        let cn = cname(name.as_bytes())?;
        let Ok(st) = lstat_at(pdir.as_raw_fd(), &cn) else { continue };
        let empty = if tree::is_dir(&st) {
            open_dir_at(pdir.as_raw_fd(), &cn).and_then(|fd| Ok(list_dir(fd.as_raw_fd())?.is_empty() && !tree::is_opaque(fd.as_raw_fd(), xattr_prefix))).unwrap_or(false)
        } else {
            kind(&st) == libc::S_IFREG && st.st_size == 0
        };
        if !empty || in_lowers(lowers, &comps, xattr_prefix).is_some() {
            continue;
        }
        let flag = if tree::is_dir(&st) { libc::AT_REMOVEDIR } else { 0 };
        check(unsafe { libc::unlinkat(pdir.as_raw_fd(), cn.as_ptr(), flag) })?;
        removed.push(format!("/{}", comps.join("/")));
        // Parents left empty.
        for n in (1..comps.len()).rev() {
            let dir_comps = &comps[..n];
            let (dname, dparent) = dir_comps.split_last().unwrap();
            let Ok(pp) = open_dir_path(upper, dparent) else { break };
            let dn = cname(dname.as_bytes())?;
            let Ok(dst) = lstat_at(pp.as_raw_fd(), &dn) else { break };
            let Ok(dfd) = open_dir_at(pp.as_raw_fd(), &dn) else { break };
            if !list_dir(dfd.as_raw_fd())?.is_empty() || tree::is_opaque(dfd.as_raw_fd(), xattr_prefix) {
                break;
            }
            let same = match in_lowers(lowers, dir_comps, xattr_prefix) {
                None => true,
                Some(l) => tree::is_dir(&l) && l.st_mode == dst.st_mode && l.st_uid == dst.st_uid && l.st_gid == dst.st_gid,
            };
            if !same {
                break;
            }
            drop(dfd);
            check(unsafe { libc::unlinkat(pp.as_raw_fd(), dn.as_ptr(), libc::AT_REMOVEDIR) })?;
        }
    }
    Ok(removed)
}

/// `ADD archive.tar dest`: unpack a plain tar stream into `dest` (made with `mkdir` when
/// missing), owners from the archive unless `chown`, existing directories merged, other
/// entries replaced. Names are confined to `dest`; a symlink in the way is an error.
pub fn untar<R: io::Read>(root: RawFd, dest: &str, reader: R, chown: Option<(u32, u32)>, mkdir: MkdirOwner) -> io::Result<u64> {
    let dest_comps = root_path(root, dest, true)?;
    mkdir_all(root, &dest_comps, mkdir)?;
    let top = open_in_root(root, &dest_comps.join("/"), libc::O_RDONLY | libc::O_DIRECTORY)?;
    let mut archive = tar::Archive::new(reader);
    let mut bytes = 0u64;
    let mut dir_times: Vec<(Vec<String>, (i64, i64))> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path_bytes().into_owned();
        let comps = crate::unpack::clean_components(&raw).map_err(|e| err(e.to_string()))?;
        let Some((name, parents)) = comps.split_last() else { continue };
        let h = entry.header().clone();
        let (uid, gid) = chown.unwrap_or((h.uid().unwrap_or(0) as u32, h.gid().unwrap_or(0) as u32));
        let meta = Meta { uid, gid, mode: h.mode().unwrap_or(0o644) & 0o7777, mtime: (h.mtime().unwrap_or(0) as i64, 0) };
        // Missing parents are made as the archive's root would own them.
        let mut pdir = unsafe { OwnedFd::from_raw_fd(check(libc::fcntl(top.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0))?) };
        for p in parents {
            let cn = cname(p.as_bytes())?;
            if lstat_at(pdir.as_raw_fd(), &cn).is_err() {
                check(unsafe { libc::mkdirat(pdir.as_raw_fd(), cn.as_ptr(), 0o755) })?;
                let (u, g) = chown.unwrap_or((mkdir.uid, mkdir.gid));
                check(unsafe { libc::fchownat(pdir.as_raw_fd(), cn.as_ptr(), u, g, libc::AT_SYMLINK_NOFOLLOW) })?;
            }
            pdir = open_dir_at(pdir.as_raw_fd(), &cn).map_err(|_| err(format!("cannot unpack {}: /{} is not a directory", String::from_utf8_lossy(&raw), p)))?;
        }
        let d = pdir.as_raw_fd();
        let cn = cname(name.as_bytes())?;
        let shown = format!("/{}", [&dest_comps[..], &comps[..]].concat().join("/"));
        match h.entry_type() {
            tar::EntryType::Directory => {
                match lstat_at(d, &cn) {
                    Ok(st) if tree::is_dir(&st) => {}
                    Ok(_) => {
                        check(unsafe { libc::unlinkat(d, cn.as_ptr(), 0) })?;
                        check(unsafe { libc::mkdirat(d, cn.as_ptr(), 0o700) })?;
                    }
                    Err(_) => {
                        check(unsafe { libc::mkdirat(d, cn.as_ptr(), 0o700) })?;
                    }
                }
                set_meta(d, &cn, &meta, false)?;
                dir_times.push((comps.clone(), meta.mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                clear_for(d, &cn, &shown)?;
                let to = unsafe { libc::openat(d, cn.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0o600) };
                let mut f = unsafe { std::fs::File::from_raw_fd(check(to)?) };
                bytes += io::copy(&mut entry, &mut f)?;
                drop(f);
                set_meta(d, &cn, &meta, false)?;
            }
            tar::EntryType::Symlink => {
                clear_for(d, &cn, &shown)?;
                let target = entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default();
                let t = CString::new(target).map_err(|_| err(format!("{shown}: NUL in link target")))?;
                check(unsafe { libc::symlinkat(t.as_ptr(), d, cn.as_ptr()) })?;
                set_meta(d, &cn, &meta, true)?;
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default();
                let tcomps = crate::unpack::clean_components(&target).map_err(|e| err(e.to_string()))?;
                let Some((tname, tparents)) = tcomps.split_last() else { continue };
                let tdir = open_dir_path(top.as_raw_fd(), tparents)?;
                clear_for(d, &cn, &shown)?;
                let tn = cname(tname.as_bytes())?;
                check(unsafe { libc::linkat(tdir.as_raw_fd(), tn.as_ptr(), d, cn.as_ptr(), 0) })?;
            }
            tar::EntryType::Fifo => {
                clear_for(d, &cn, &shown)?;
                check(unsafe { libc::mknodat(d, cn.as_ptr(), libc::S_IFIFO | 0o600, 0) })?;
                set_meta(d, &cn, &meta, false)?;
            }
            _ => {} // devices cannot be made in a user namespace; metadata entries
        }
    }
    for (comps, t) in dir_times.iter().rev() {
        let (name, parent) = comps.split_last().unwrap();
        if let Ok(p) = open_dir_path(top.as_raw_fd(), parent) {
            let _ = set_time(p.as_raw_fd(), &cname(name.as_bytes())?, *t);
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ncx-buildfs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }

    fn fd(p: &Path) -> OwnedFd {
        tree::open_dir(p.to_str().unwrap()).unwrap()
    }

    fn me() -> (u32, u32) {
        (unsafe { libc::getuid() }, unsafe { libc::getgid() })
    }

    fn meta(mode: u32) -> Meta {
        let (uid, gid) = me();
        Meta { uid, gid, mode, mtime: (1_000_000_000, 5) }
    }

    #[test]
    fn root_path_keeps_symlinks_inside_the_root() {
        let base = tmp("rootpath");
        fs::create_dir_all(base.join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("usr/bin", base.join("bin")).unwrap();
        std::os::unix::fs::symlink("/../../etc", base.join("escape")).unwrap();
        std::os::unix::fs::symlink("../..", base.join("usr/up")).unwrap();
        let r = fd(&base);
        assert_eq!(root_path(r.as_raw_fd(), "/bin/x", true).unwrap(), vec!["usr", "bin", "x"]);
        assert_eq!(root_path(r.as_raw_fd(), "/escape/passwd", true).unwrap(), vec!["etc", "passwd"]);
        assert_eq!(root_path(r.as_raw_fd(), "/usr/up/etc", true).unwrap(), vec!["etc"]);
        assert_eq!(root_path(r.as_raw_fd(), "/bin", false).unwrap(), vec!["bin"]);
        assert_eq!(root_path(r.as_raw_fd(), "/missing/a/../b", true).unwrap(), vec!["missing", "b"]);
        fs::remove_dir_all(&base).unwrap();
    }

    struct HostRoot(OwnedFd);
    impl SourceRoots for HostRoot {
        fn open(&self, _: usize, path: &str) -> io::Result<OwnedFd> {
            open_in_root(self.0.as_raw_fd(), path.trim_start_matches('/'), libc::O_RDONLY | libc::O_NOFOLLOW)
        }
    }

    #[test]
    fn copy_follows_docker_placement_rules() {
        let base = tmp("copy");
        let (src, dst) = (base.join("src"), base.join("dst"));
        fs::create_dir_all(src.join("d/e")).unwrap();
        fs::write(src.join("f"), "file").unwrap();
        fs::write(src.join("d/e/g"), "g").unwrap();
        fs::create_dir_all(dst.join("existing")).unwrap();
        fs::set_permissions(dst.join("existing"), fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink("/existing", dst.join("link")).unwrap();
        let sources = HostRoot(fd(&src));
        let root = fd(&dst);
        let mk = MkdirOwner { uid: me().0, gid: me().1, mode: 0o755 };
        let mut links = HashMap::new();
        let file = Item { source: 0, base: "f".into(), top: Entry { path: String::new(), kind: EntryKind::File { src: "f".into() }, meta: meta(0o640) }, children: vec![] };
        // A file onto an existing directory goes inside it (through a symlink in the root).
        copy_item(root.as_raw_fd(), "/link", &file, mk, &sources, &mut links).unwrap();
        assert_eq!(fs::read_to_string(dst.join("existing/f")).unwrap(), "file");
        assert_eq!(fs::metadata(dst.join("existing/f")).unwrap().mode() & 0o7777, 0o640);
        // A file to a missing path is created as that path, parents made.
        copy_item(root.as_raw_fd(), "/new/dir/name", &file, mk, &sources, &mut links).unwrap();
        assert_eq!(fs::read_to_string(dst.join("new/dir/name")).unwrap(), "file");
        assert_eq!(fs::metadata(dst.join("new/dir")).unwrap().mode() & 0o7777, 0o755);
        // A directory's contents merge into the destination; the existing top keeps its mode.
        let dir = Item {
            source: 0,
            base: "d".into(),
            top: Entry { path: String::new(), kind: EntryKind::Dir, meta: meta(0o711) },
            children: vec![
                Entry { path: "e".into(), kind: EntryKind::Dir, meta: meta(0o750) },
                Entry { path: "e/g".into(), kind: EntryKind::File { src: "d/e/g".into() }, meta: meta(0o600) },
            ],
        };
        copy_item(root.as_raw_fd(), "/existing/", &dir, mk, &sources, &mut links).unwrap();
        assert_eq!(fs::metadata(dst.join("existing")).unwrap().mode() & 0o7777, 0o700);
        assert_eq!(fs::metadata(dst.join("existing/e")).unwrap().mode() & 0o7777, 0o750);
        assert_eq!(fs::metadata(dst.join("existing/e")).unwrap().mtime(), 1_000_000_000);
        assert_eq!(fs::read_to_string(dst.join("existing/e/g")).unwrap(), "g");
        // A missing directory destination is made with the mkdir owner, not the source's mode.
        copy_item(root.as_raw_fd(), "/fresh", &dir, mk, &sources, &mut links).unwrap();
        assert_eq!(fs::metadata(dst.join("fresh")).unwrap().mode() & 0o7777, 0o755);
        // A file cannot replace a directory.
        let onto_dir = Item { source: 0, base: "e".into(), top: Entry { path: String::new(), kind: EntryKind::File { src: "f".into() }, meta: meta(0o644) }, children: vec![] };
        fs::create_dir_all(dst.join("x/e/inner")).unwrap();
        let dir_with_file = Item { source: 0, base: "x".into(), top: Entry { path: String::new(), kind: EntryKind::Dir, meta: meta(0o755) }, children: vec![Entry { path: "e".into(), kind: EntryKind::File { src: "f".into() }, meta: meta(0o644) }] };
        let e = copy_item(root.as_raw_fd(), "/x", &dir_with_file, mk, &sources, &mut links).unwrap_err();
        assert!(e.to_string().contains("cannot replace to directory /x/e with file"), "{e}");
        let _ = onto_dir;
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn copy_never_writes_through_a_symlink_below_the_destination() {
        let base = tmp("nofollow");
        let (src, dst, outside) = (base.join("src"), base.join("dst"), base.join("outside"));
        fs::create_dir_all(src.join("a")).unwrap();
        fs::write(src.join("a/f"), "x").unwrap();
        fs::create_dir_all(dst.join("app")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, dst.join("app/a")).unwrap();
        let sources = HostRoot(fd(&src));
        let root = fd(&dst);
        let mk = MkdirOwner { uid: me().0, gid: me().1, mode: 0o755 };
        let item = Item {
            source: 0,
            base: "src".into(),
            top: Entry { path: String::new(), kind: EntryKind::Dir, meta: meta(0o755) },
            children: vec![Entry { path: "a".into(), kind: EntryKind::Dir, meta: meta(0o755) }, Entry { path: "a/f".into(), kind: EntryKind::File { src: "a/f".into() }, meta: meta(0o644) }],
        };
        let e = copy_item(root.as_raw_fd(), "/app", &item, mk, &sources, &mut HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("cannot copy to non-directory"), "{e}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn untar_merges_and_stays_inside_the_destination() {
        let base = tmp("untar");
        let dst = base.join("dst");
        fs::create_dir_all(dst.join("opt/app")).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o755);
        h.set_uid(me().0 as u64);
        h.set_gid(me().1 as u64);
        h.set_mtime(12345);
        h.set_size(2);
        b.append_data(&mut h.clone(), "app/run.sh", &b"hi"[..]).unwrap();
        b.append_data(&mut h.clone(), "../../escape", &b"no"[..]).unwrap_or(());
        let bytes = b.into_inner().unwrap();
        let root = fd(&dst);
        let mk = MkdirOwner { uid: me().0, gid: me().1, mode: 0o755 };
        let r = untar(root.as_raw_fd(), "/opt/", &bytes[..], None, mk);
        assert_eq!(fs::read_to_string(dst.join("opt/app/run.sh")).unwrap(), "hi");
        assert_eq!(fs::metadata(dst.join("opt/app/run.sh")).unwrap().mtime(), 12345);
        assert!(r.is_err() || !base.join("escape").exists());
        assert!(!base.join("escape").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn listing_is_sorted_parents_first() {
        let base = tmp("list");
        fs::create_dir_all(base.join("t/b/c")).unwrap();
        fs::write(base.join("t/a"), "12").unwrap();
        std::os::unix::fs::symlink("a", base.join("t/l")).unwrap();
        let r = fd(&base);
        let l = list(r.as_raw_fd(), &["t".to_string()], None).unwrap();
        let got: Vec<(String, char)> = l.iter().map(|e| (e.path.clone(), e.kind)).collect();
        assert_eq!(got, vec![("".into(), 'd'), ("a".into(), 'f'), ("b".into(), 'd'), ("b/c".into(), 'd'), ("l".into(), 'l')]);
        assert_eq!(l[4].link.as_deref(), Some("a"));
        let shallow = list(r.as_raw_fd(), &["t".to_string()], Some(1)).unwrap();
        assert_eq!(shallow.len(), 4);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn stubs_are_pruned_with_their_new_or_copied_up_parents() {
        let base = tmp("stubs");
        let (lower, upper) = (base.join("lower"), base.join("upper"));
        fs::create_dir_all(lower.join("etc")).unwrap();
        fs::write(lower.join("etc/passwd"), "root").unwrap();
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::write(upper.join("etc/hosts"), "").unwrap();
        fs::create_dir_all(upper.join("run/secrets")).unwrap();
        fs::write(upper.join("run/secrets/token"), "").unwrap();
        fs::create_dir_all(upper.join("proc")).unwrap();
        fs::write(upper.join("kept"), "").unwrap();
        let m = fs::metadata(lower.join("etc")).unwrap();
        fs::set_permissions(upper.join("etc"), fs::Permissions::from_mode(m.mode() & 0o7777)).unwrap();
        let lowers = vec![fd(&lower)];
        let removed = prune_stubs(fd(&upper).as_raw_fd(), &lowers, &["/etc/hosts".into(), "/run/secrets/token".into(), "/proc".into(), "/etc/passwd".into()], "user.").unwrap();
        assert_eq!(removed, vec!["/etc/hosts", "/run/secrets/token", "/proc"]);
        assert!(!upper.join("etc").exists());
        assert!(!upper.join("run").exists());
        assert!(upper.join("kept").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
