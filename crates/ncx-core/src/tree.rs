//! File-system trees of containers, walked through directory file descriptors only: every
//! directory is opened with `O_NOFOLLOW` relative to its parent, so a symlink (planted by a
//! hostile image or a running container) is never followed out of the tree being read or
//! written. Used by `diff` (an upper dir against the image layers), `commit` (an upper dir
//! as an OCI layer tar), `export` (a merged root as a tar) and `cp` (trees copied between a
//! container root and the host).
//!
//! (Over 600 lines, 114 of them its tests: one walker serves all four, so the rule that no
//! directory is entered by a path that could follow a symlink lives in one place.)

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub fn cname(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    check(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Open a directory by path (a path the caller trusts: symlinks in it are followed).
pub fn open_dir(path: &str) -> io::Result<OwnedFd> {
    let c = cname(path.as_bytes())?;
    owned(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })
}

/// Open the directory `name` in `dir`, never through a symlink.
pub fn open_dir_at(dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    owned(unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) })
}

pub fn lstat_at(dir: RawFd, name: &CStr) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st)
}

pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

fn kind(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

pub fn is_dir(st: &libc::stat) -> bool {
    kind(st) == libc::S_IFDIR
}

/// An overlayfs whiteout: a 0:0 character device.
pub fn is_whiteout(st: &libc::stat) -> bool {
    kind(st) == libc::S_IFCHR && st.st_rdev == 0
}

/// The names in a directory, sorted, without `.` and `..`.
pub fn list_dir(dir: RawFd) -> io::Result<Vec<Vec<u8>>> {
    let dup = check(unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 0) })?;
    let dp = unsafe { libc::fdopendir(dup) };
    if dp.is_null() {
        let e = io::Error::last_os_error();
        unsafe { libc::close(dup) };
        return Err(e);
    }
    unsafe { libc::rewinddir(dp) };
    let mut names = Vec::new();
    loop {
        let ent = unsafe { libc::readdir64(dp) };
        if ent.is_null() {
            break;
        }
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(name);
        }
    }
    unsafe { libc::closedir(dp) };
    names.sort();
    Ok(names)
}

/// Is the directory `fd` an overlayfs opaque directory (`<prefix>overlay.opaque` = y)?
pub fn is_opaque(fd: RawFd, xattr_prefix: &str) -> bool {
    let Ok(key) = cname(format!("{xattr_prefix}overlay.opaque").as_bytes()) else { return false };
    let mut buf = [0u8; 4];
    let n = unsafe { libc::fgetxattr(fd, key.as_ptr(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    n == 1 && buf[0] == b'y'
}

pub fn readlink_at(dir: RawFd, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn join(base: &[u8], name: &[u8]) -> Vec<u8> {
    if base.is_empty() {
        return name.to_vec();
    }
    let mut p = base.to_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

// ---------------------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------------------

/// One change of a container's writable layer, as `docker diff` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// 'A' added, 'C' changed, 'D' deleted.
    pub kind: char,
    /// Absolute path in the container.
    pub path: String,
    pub dir: bool,
}

/// The image's lower layers at one directory, topmost first (the overlay merge, done here).
struct Lower {
    dirs: Vec<OwnedFd>,
}

impl Lower {
    /// Does `name` exist in the merged lower view, and what is it?
    fn lookup(&self, name: &CStr) -> Option<libc::stat> {
        for d in &self.dirs {
            if let Ok(st) = lstat_at(d.as_raw_fd(), name) {
                return if is_whiteout(&st) { None } else { Some(st) };
            }
        }
        None
    }

    /// The lower view of the directory `name` (empty when it is no directory there).
    fn child(&self, name: &CStr, prefix: &str) -> Lower {
        let mut dirs = Vec::new();
        for d in &self.dirs {
            match lstat_at(d.as_raw_fd(), name) {
                Ok(st) if is_dir(&st) => match open_dir_at(d.as_raw_fd(), name) {
                    Ok(fd) => {
                        let opaque = is_opaque(fd.as_raw_fd(), prefix);
                        dirs.push(fd);
                        if opaque {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Ok(_) => break, // a whiteout or a non-directory hides everything below
                Err(_) => {}
            }
        }
        Lower { dirs }
    }
}

/// The changes in the overlay upper dir `upper` over `lowers` (topmost first).
pub fn diff(upper: RawFd, lowers: Vec<OwnedFd>, xattr_prefix: &str) -> io::Result<Vec<Change>> {
    let mut out = Vec::new();
    diff_dir(upper, &Lower { dirs: lowers }, b"", xattr_prefix, &mut out)?;
    Ok(out)
}

fn diff_dir(dir: RawFd, lower: &Lower, path: &[u8], prefix: &str, out: &mut Vec<Change>) -> io::Result<()> {
    for name in list_dir(dir)? {
        let cn = cname(&name)?;
        let Ok(st) = lstat_at(dir, &cn) else { continue };
        let p = join(path, &name);
        let shown = format!("/{}", String::from_utf8_lossy(&p));
        let below = lower.lookup(&cn);
        if is_whiteout(&st) {
            if below.is_some() {
                out.push(Change { kind: 'D', path: shown, dir: false });
            }
            continue;
        }
        let k = if below.is_some() { 'C' } else { 'A' };
        if is_dir(&st) {
            out.push(Change { kind: k, path: shown, dir: true });
            let fd = open_dir_at(dir, &cn)?;
            let child = if is_opaque(fd.as_raw_fd(), prefix) { Lower { dirs: Vec::new() } } else { lower.child(&cn, prefix) };
            diff_dir(fd.as_raw_fd(), &child, &p, prefix, out)?;
        } else {
            out.push(Change { kind: k, path: shown, dir: false });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// tar
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct TarOptions {
    /// Write overlayfs whiteouts and opaque dirs as OCI `.wh.NAME` / `.wh..wh..opq` (a layer).
    pub oci_whiteouts: bool,
    pub xattr_prefix: String,
    /// Paths (relative, no leading `/`) left out when they are empty files or directories.
    pub exclude_empty: Vec<Vec<u8>>,
}

/// A reader that yields exactly `left` bytes: the file's, then zeros if it shrank meanwhile.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

pub struct TarWriter<W: Write> {
    b: tar::Builder<W>,
    links: HashMap<(u64, u64), Vec<u8>>,
    opts: TarOptions,
}

fn header(st: &libc::stat) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid as u64);
    h.set_gid(st.st_gid as u64);
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

fn path_of(b: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(b))
}

impl<W: Write> TarWriter<W> {
    pub fn new(w: W, opts: TarOptions) -> Self {
        let mut b = tar::Builder::new(w);
        b.follow_symlinks(false);
        TarWriter { b, links: HashMap::new(), opts }
    }

    pub fn finish(self) -> io::Result<W> {
        self.b.into_inner()
    }

    /// Add everything under the directory `dir` with names prefixed by `path` (may be empty).
    pub fn add_children(&mut self, dir: RawFd, path: &[u8]) -> io::Result<()> {
        for name in list_dir(dir)? {
            let cn = cname(&name)?;
            self.add(dir, &cn, &join(path, &name))?;
        }
        Ok(())
    }

    fn excluded(&self, path: &[u8], st: &libc::stat, dir: RawFd, name: &CStr) -> bool {
        if !self.opts.exclude_empty.iter().any(|p| p == path) {
            return false;
        }
        if is_dir(st) {
            return open_dir_at(dir, name).and_then(|fd| list_dir(fd.as_raw_fd())).map(|l| l.is_empty()).unwrap_or(false);
        }
        kind(st) == libc::S_IFREG && st.st_size == 0
    }

    fn empty_file(&mut self, path: &[u8], st: &libc::stat) -> io::Result<()> {
        let mut h = header(st);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        self.b.append_data(&mut h, path_of(path), io::empty())
    }

    /// Add the entry `name` of `dir` as `path`, recursing into directories.
    pub fn add(&mut self, dir: RawFd, name: &CStr, path: &[u8]) -> io::Result<()> {
        let st = match lstat_at(dir, name) {
            Ok(st) => st,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()), // removed meanwhile
            Err(e) => return Err(e),
        };
        if self.excluded(path, &st, dir, name) {
            return Ok(());
        }
        let mut h = header(&st);
        match kind(&st) {
            libc::S_IFCHR if st.st_rdev == 0 && self.opts.oci_whiteouts => {
                let (parent, base) = match path.iter().rposition(|&c| c == b'/') {
                    Some(i) => (&path[..i], &path[i + 1..]),
                    None => (&b""[..], path),
                };
                let wh = join(parent, &[b".wh.", base].concat());
                self.empty_file(&wh, &st)?;
            }
            libc::S_IFDIR => {
                let fd = open_dir_at(dir, name)?;
                h.set_entry_type(tar::EntryType::Directory);
                let mut p = path.to_vec();
                p.push(b'/');
                self.b.append_data(&mut h, path_of(&p), io::empty())?;
                if self.opts.oci_whiteouts && is_opaque(fd.as_raw_fd(), &self.opts.xattr_prefix.clone()) {
                    self.empty_file(&join(path, b".wh..wh..opq"), &st)?;
                }
                self.add_children(fd.as_raw_fd(), path)?;
            }
            libc::S_IFREG => {
                let id = (st.st_dev as u64, st.st_ino as u64);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&id).cloned() {
                        h.set_entry_type(tar::EntryType::Link);
                        return self.b.append_link(&mut h, path_of(path), path_of(&first));
                    }
                    self.links.insert(id, path.to_vec());
                }
                let fd = owned(unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY) })?;
                let file = std::fs::File::from(fd);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(st.st_size as u64);
                self.b.append_data(&mut h, path_of(path), Exact { inner: file, left: st.st_size as u64 })?;
            }
            libc::S_IFLNK => {
                let target = readlink_at(dir, name)?;
                h.set_entry_type(tar::EntryType::Symlink);
                self.b.append_link(&mut h, path_of(path), path_of(&target))?;
            }
            libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
                h.set_entry_type(match kind(&st) {
                    libc::S_IFIFO => tar::EntryType::Fifo,
                    libc::S_IFCHR => tar::EntryType::Char,
                    _ => tar::EntryType::Block,
                });
                if kind(&st) != libc::S_IFIFO {
                    h.set_device_major(libc::major(st.st_rdev))?;
                    h.set_device_minor(libc::minor(st.st_rdev))?;
                }
                self.b.append_data(&mut h, path_of(path), io::empty())?;
            }
            _ => {} // sockets
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// cp
// ---------------------------------------------------------------------------------------

/// Where a copy goes, by Docker's rules for `cp` (trailing `/` and `/.`).
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Create (or replace) the destination itself: `dst` is the new entry's full path.
    As,
    /// Put the source inside the existing directory `dst`, under the source's own name.
    Into,
    /// Copy the source directory's contents into the existing directory `dst`.
    Contents,
}

/// Docker's `cp` rules. `src_contents`: the source ends with `/.`; `dst_slash`: the
/// destination ends with `/`; `dst`: `None` when missing, else whether it is a directory.
pub fn placement(src_dir: bool, src_contents: bool, src_slash: bool, dst: Option<bool>, dst_slash: bool) -> Result<Placement, String> {
    if !src_dir && (src_slash || src_contents) {
        return Err("not a directory".into());
    }
    match dst {
        None if !src_dir && dst_slash => Err("no such directory".into()),
        None => Ok(Placement::As),
        Some(false) if src_dir => Err("cannot copy a directory to a file".into()),
        Some(false) if dst_slash => Err("not a directory".into()),
        Some(false) => Ok(Placement::As),
        Some(true) if src_dir && src_contents => Ok(Placement::Contents),
        Some(true) => Ok(Placement::Into),
    }
}

/// Remove the non-directory `name` in `dir`, if any; a directory there is an error.
fn clear_for_file(dir: RawFd, name: &CStr) -> io::Result<()> {
    match lstat_at(dir, name) {
        Ok(st) if is_dir(&st) => Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("cannot overwrite directory {:?} with non-directory", name))),
        Ok(_) => check(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map(|_| ()),
        Err(_) => Ok(()),
    }
}

fn set_times(fd: RawFd, name: Option<&CStr>, st: &libc::stat) {
    let t = [
        libc::timespec { tv_sec: st.st_atime, tv_nsec: st.st_atime_nsec },
        libc::timespec { tv_sec: st.st_mtime, tv_nsec: st.st_mtime_nsec },
    ];
    unsafe {
        match name {
            Some(n) => libc::utimensat(fd, n.as_ptr(), t.as_ptr(), libc::AT_SYMLINK_NOFOLLOW),
            None => libc::futimens(fd, t.as_ptr()),
        };
    }
}

/// Copy the entry `sname` of `sdir` to `dname` in `ddir`. Nothing is followed: symlinks are
/// copied as symlinks, and only directories this copy created or found (opened without
/// following) are written into, so nothing lands outside `ddir`. `follow`: the top entry is
/// followed if it is a symlink (`cp -L`). Returns the bytes copied.
pub fn copy_entry(sdir: RawFd, sname: &CStr, ddir: RawFd, dname: &CStr, follow: bool) -> io::Result<u64> {
    let mut st = lstat_at(sdir, sname)?;
    if follow && kind(&st) == libc::S_IFLNK {
        check(unsafe { libc::fstatat(sdir, sname.as_ptr(), &mut st, 0) })?;
    }
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    match kind(&st) {
        libc::S_IFDIR => {
            let src = owned(unsafe { libc::openat(sdir, sname.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | nofollow) })?;
            copy_dir(src.as_raw_fd(), &st, ddir, dname)
        }
        libc::S_IFREG => {
            let src = owned(unsafe { libc::openat(sdir, sname.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | nofollow) })?;
            clear_for_file(ddir, dname)?;
            let dst = owned(unsafe {
                libc::openat(ddir, dname.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0o600)
            })?;
            let mut from = std::fs::File::from(src);
            let mut to = std::fs::File::from(dst);
            let n = io::copy(&mut from, &mut to)?;
            check(unsafe { libc::fchmod(to.as_raw_fd(), st.st_mode & 0o7777) })?;
            set_times(to.as_raw_fd(), None, &st);
            Ok(n)
        }
        libc::S_IFLNK => {
            let target = readlink_at(sdir, sname)?;
            clear_for_file(ddir, dname)?;
            let t = cname(&target)?;
            check(unsafe { libc::symlinkat(t.as_ptr(), ddir, dname.as_ptr()) })?;
            set_times(ddir, Some(dname), &st);
            Ok(0)
        }
        libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
            clear_for_file(ddir, dname)?;
            // Devices cannot be made in a user namespace: skipped, as tar does.
            if unsafe { libc::mknodat(ddir, dname.as_ptr(), st.st_mode, st.st_rdev) } == 0 {
                unsafe { libc::fchmodat(ddir, dname.as_ptr(), st.st_mode & 0o7777, 0) }; // not the umask's
                set_times(ddir, Some(dname), &st);
            }
            Ok(0)
        }
        _ => Ok(0),
    }
}

/// Copy the directory `src` (its metadata `st`) to `dname` in `ddir`, merging into an
/// existing directory there.
pub fn copy_dir(src: RawFd, st: &libc::stat, ddir: RawFd, dname: &CStr) -> io::Result<u64> {
    match lstat_at(ddir, dname) {
        Ok(d) if is_dir(&d) => {}
        Ok(_) => {
            check(unsafe { libc::unlinkat(ddir, dname.as_ptr(), 0) })?;
            check(unsafe { libc::mkdirat(ddir, dname.as_ptr(), 0o700) })?;
        }
        Err(_) => {
            check(unsafe { libc::mkdirat(ddir, dname.as_ptr(), 0o700) })?;
        }
    }
    let dst = open_dir_at(ddir, dname)?;
    let n = copy_contents(src, dst.as_raw_fd())?;
    check(unsafe { libc::fchmod(dst.as_raw_fd(), st.st_mode & 0o7777) })?;
    set_times(dst.as_raw_fd(), None, st);
    Ok(n)
}

/// Copy everything in the directory `src` into the directory `dst`.
pub fn copy_contents(src: RawFd, dst: RawFd) -> io::Result<u64> {
    let mut n = 0;
    for name in list_dir(src)? {
        let cn = cname(&name)?;
        n += copy_entry(src, &cn, dst, &cn, false)?;
    }
    Ok(n)
}

/// Bytes in the regular files under `dir` (hard links counted once), as `du -b` would.
pub fn tree_bytes(dir: RawFd, seen: &mut std::collections::HashSet<(u64, u64)>) -> io::Result<u64> {
    let mut n = 0;
    for name in list_dir(dir)? {
        let cn = cname(&name)?;
        let st = lstat_at(dir, &cn)?;
        if is_dir(&st) {
            let sub = open_dir_at(dir, &cn)?;
            n += tree_bytes(sub.as_raw_fd(), seen)?;
        } else if kind(&st) == libc::S_IFREG && (st.st_nlink <= 1 || seen.insert((st.st_dev, st.st_ino))) {
            n += st.st_size as u64;
        }
    }
    Ok(n)
}

/// Give every entry under `dst` the owner (and then again the mode: chown clears set-id
/// bits) of the same entry under `src`: a copy that keeps owners (Docker's volume copy-up).
/// Walked through directory fds without following symlinks, like the copy itself.
pub fn copy_owners(src: RawFd, dst: RawFd) -> io::Result<()> {
    copy_owners_mapped(src, dst, &|id| id, &|id| id, None)
}

/// `copy_owners` with owners translated (`uid`, `gid`), and, with `opaque` (an xattr
/// prefix), overlayfs opaque-directory markers carried over: a layer copied for another
/// id mapping (`--userns keep-id`).
pub fn copy_owners_mapped(src: RawFd, dst: RawFd, uid: &dyn Fn(u32) -> u32, gid: &dyn Fn(u32) -> u32, opaque: Option<&str>) -> io::Result<()> {
    for name in list_dir(src)? {
        let cn = cname(&name)?;
        let st = lstat_at(src, &cn)?;
        if lstat_at(dst, &cn).is_err() {
            continue;
        }
        check(unsafe { libc::fchownat(dst, cn.as_ptr(), uid(st.st_uid), gid(st.st_gid), libc::AT_SYMLINK_NOFOLLOW) })?;
        if kind(&st) == libc::S_IFLNK {
            continue;
        }
        if is_dir(&st) || kind(&st) == libc::S_IFREG {
            check(unsafe { libc::fchmodat(dst, cn.as_ptr(), st.st_mode & 0o7777, 0) })?;
        }
        if is_dir(&st) {
            let (s, d) = (open_dir_at(src, &cn)?, open_dir_at(dst, &cn)?);
            if let Some(prefix) = opaque {
                if is_opaque(s.as_raw_fd(), prefix) {
                    let key = cname(format!("{prefix}overlay.opaque").as_bytes())?;
                    check(unsafe { libc::fsetxattr(d.as_raw_fd(), key.as_ptr(), b"y".as_ptr() as *const libc::c_void, 1, 0) })?;
                }
            }
            copy_owners_mapped(s.as_raw_fd(), d.as_raw_fd(), uid, gid, opaque)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("ncx-tree-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }

    fn fd(p: &Path) -> OwnedFd {
        open_dir(p.to_str().unwrap()).unwrap()
    }

    #[test]
    fn placement_follows_docker() {
        use Placement::*;
        assert_eq!(placement(false, false, false, None, false), Ok(As));
        assert!(placement(false, false, false, None, true).is_err());
        assert_eq!(placement(false, false, false, Some(false), false), Ok(As));
        assert_eq!(placement(false, false, false, Some(true), false), Ok(Into));
        assert!(placement(false, false, true, Some(true), false).is_err());
        assert_eq!(placement(true, false, false, None, false), Ok(As));
        assert_eq!(placement(true, false, false, None, true), Ok(As));
        assert!(placement(true, false, false, Some(false), false).is_err());
        assert_eq!(placement(true, false, false, Some(true), false), Ok(Into));
        assert_eq!(placement(true, true, false, Some(true), false), Ok(Contents));
        assert_eq!(placement(true, true, false, None, false), Ok(As));
    }

    #[test]
    fn diff_against_lowers() {
        let base = tmp("diff");
        let (l1, l2, up) = (base.join("l1"), base.join("l2"), base.join("up"));
        fs::create_dir_all(l1.join("etc")).unwrap();
        fs::write(l1.join("etc/passwd"), "x").unwrap();
        fs::create_dir_all(l2.join("opt")).unwrap();
        fs::create_dir_all(up.join("etc")).unwrap();
        fs::write(up.join("etc/passwd"), "y").unwrap();
        fs::write(up.join("etc/new"), "n").unwrap();
        fs::create_dir_all(up.join("tmp/d")).unwrap();
        let changes = diff(fd(&up).as_raw_fd(), vec![fd(&l2), fd(&l1)], "user.").unwrap();
        let got: Vec<String> = changes.iter().map(|c| format!("{} {}", c.kind, c.path)).collect();
        assert_eq!(got, vec!["C /etc", "A /etc/new", "C /etc/passwd", "A /tmp", "A /tmp/d"]);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn copy_never_follows_symlinks_in_the_destination() {
        let base = tmp("cp");
        let (src, dst, outside) = (base.join("src"), base.join("dst"), base.join("outside"));
        fs::create_dir_all(src.join("a")).unwrap();
        fs::write(src.join("a/f"), "data").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        fs::create_dir_all(&dst).unwrap();
        fs::create_dir_all(&outside).unwrap();
        // A symlink in the destination where the copy puts a directory is replaced, not followed.
        std::os::unix::fs::symlink(&outside, dst.join("a")).unwrap();
        copy_contents(fd(&src).as_raw_fd(), fd(&dst).as_raw_fd()).unwrap();
        assert!(fs::symlink_metadata(dst.join("a")).unwrap().is_dir());
        assert_eq!(fs::read_to_string(dst.join("a/f")).unwrap(), "data");
        assert_eq!(fs::read_link(dst.join("link")).unwrap(), Path::new("/etc/passwd"));
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn copy_owners_restores_modes_and_skips_symlinks() {
        let base = tmp("own");
        let (src, dst) = (base.join("src"), base.join("dst"));
        fs::create_dir_all(src.join("d")).unwrap();
        fs::write(src.join("d/f"), "x").unwrap();
        fs::set_permissions(src.join("d/f"), std::os::unix::fs::PermissionsExt::from_mode(0o4755)).unwrap();
        std::os::unix::fs::symlink("/nowhere", src.join("s")).unwrap();
        fs::create_dir_all(&dst).unwrap();
        copy_contents(fd(&src).as_raw_fd(), fd(&dst).as_raw_fd()).unwrap();
        copy_owners(fd(&src).as_raw_fd(), fd(&dst).as_raw_fd()).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(fs::metadata(dst.join("d/f")).unwrap().mode() & 0o7777, 0o4755);
        assert_eq!(fs::metadata(dst.join("d/f")).unwrap().uid(), fs::metadata(src.join("d/f")).unwrap().uid());
        assert!(fs::symlink_metadata(dst.join("s")).unwrap().file_type().is_symlink());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn tree_bytes_counts_files_once() {
        let base = tmp("du");
        fs::create_dir_all(base.join("d/e")).unwrap();
        fs::write(base.join("d/e/f"), "12345").unwrap();
        fs::write(base.join("g"), "123").unwrap();
        fs::hard_link(base.join("g"), base.join("h")).unwrap();
        std::os::unix::fs::symlink("g", base.join("s")).unwrap();
        let mut seen = std::collections::HashSet::new();
        assert_eq!(tree_bytes(fd(&base).as_raw_fd(), &mut seen).unwrap(), 8);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn tar_of_a_tree() {
        let base = tmp("tar");
        fs::create_dir_all(base.join("d")).unwrap();
        fs::write(base.join("d/f"), "hello").unwrap();
        fs::hard_link(base.join("d/f"), base.join("h")).unwrap();
        std::os::unix::fs::symlink("../x", base.join("s")).unwrap();
        let mut w = TarWriter::new(Vec::new(), TarOptions::default());
        w.add_children(fd(&base).as_raw_fd(), b"").unwrap();
        let bytes = w.finish().unwrap();
        let mut ar = tar::Archive::new(&bytes[..]);
        let names: Vec<String> = ar.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, vec!["d/", "d/f", "h", "s"]);
        fs::remove_dir_all(&base).unwrap();
    }
}
