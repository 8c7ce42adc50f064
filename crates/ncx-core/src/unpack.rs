//! Unpack one image layer (tar, optionally gzip/zstd compressed) into a directory,
//! computing its diff-id on the way. Every path is resolved with openat2(RESOLVE_IN_ROOT),
//! so `../`, absolute names, and symlinks or hardlinks planted by earlier entries can
//! never make a write land outside the layer directory. An entry's parent directory stays
//! open for the next entries in it (resolved again after any entry removed a name), and a
//! name is created first and cleared only when taken: about five system calls per file. OCI whiteouts become overlayfs
//! whiteouts (0:0 character devices, and the `overlay.opaque` xattr for opaque dirs).

use sha2::{Digest, Sha256};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

#[derive(Debug)]
pub enum UnpackError {
    Io { what: String, err: io::Error },
    Escape { entry: String },
    Format(String),
}

impl std::fmt::Display for UnpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnpackError::Io { what, err } => write!(f, "{what}: {err}"),
            UnpackError::Escape { entry } => write!(f, "layer entry {entry:?} points outside the layer; the layer is rejected"),
            UnpackError::Format(s) => write!(f, "layer is not a valid tar stream: {s}"),
        }
    }
}

impl std::error::Error for UnpackError {}

impl UnpackError {
    /// The errno of a failed system call (ENOSPC when the layer's file system is full), so the
    /// caller can name the cause and where it happened.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            UnpackError::Io { err, .. } => err.raw_os_error(),
            _ => None,
        }
    }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> UnpackError {
    let what = what.into();
    move |err| UnpackError::Io { what, err }
}

#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// `user.` inside a user namespace (overlay's `userxattr`), `trusted.` as real root.
    pub xattr_prefix: String,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct UnpackReport {
    /// sha256 of the uncompressed tar stream, as `sha256:<hex>`.
    pub diff_id: String,
    /// Size of the uncompressed tar stream in bytes.
    pub size: u64,
    pub entries: u64,
    /// Device nodes that could not be created (normal inside a user namespace).
    pub skipped_devices: u64,
    /// Owners that could not be set (ids outside the namespace's mapping).
    pub unmapped_owners: u64,
}

/// Counts and hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Detect gzip / zstd by magic bytes and return a reader of the plain tar stream.
pub fn decompressed<R: Read + 'static>(reader: R) -> io::Result<Box<dyn Read>> {
    let mut buf = BufReader::with_capacity(1 << 20, reader);
    let head = buf.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(buf)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(zstd::stream::read::Decoder::with_buffer(buf)?))
    } else {
        Ok(Box::new(buf))
    }
}

/// Split a tar name into clean components; `..` may not climb above the root.
pub fn clean_components(name: &[u8]) -> Result<Vec<String>, UnpackError> {
    let text = String::from_utf8_lossy(name);
    let mut out: Vec<String> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(UnpackError::Escape { entry: text.to_string() });
                }
            }
            p => out.push(p.to_string()),
        }
    }
    Ok(out)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

/// openat2 with RESOLVE_IN_ROOT: symlinks and `..` resolve as if `root` were `/`.
pub fn open_in_root(root: RawFd, rel: &str, flags: i32) -> io::Result<OwnedFd> {
    let path = CString::new(if rel.is_empty() { "." } else { rel }).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow { flags: (flags | libc::O_CLOEXEC) as u64, mode: 0, resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    let fd = unsafe {
        libc::syscall(libc::SYS_openat2, root, path.as_ptr(), &how as *const OpenHow, std::mem::size_of::<OpenHow>())
    };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

fn c(name: &str) -> CString {
    CString::new(name).unwrap_or_else(|_| CString::new("_").unwrap())
}

fn rc(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// File data is written in chunks of this size: one `write()` for most files, few for big ones.
const WRITE_CHUNK: usize = 1 << 20;

/// The parent directory of the last entry, kept open for the next one (a tar lists a
/// directory's files together): one openat2 per directory instead of one per entry.
struct CachedDir {
    /// The entry's cleaned parent path, relative to the layer root.
    rel: String,
    fd: OwnedFd,
    /// A file created in it gets the unpacker's own owner and group, whatever decides the
    /// group (the process's gid, a setgid directory or a `grpid` mount): fchown can be skipped.
    own_group: bool,
}

struct Unpacker {
    root: OwnedFd,
    opts: UnpackOptions,
    report: UnpackReport,
    /// Copy buffer for file contents.
    buf: Vec<u8>,
    dir: Option<CachedDir>,
    /// Set when an entry removed a name: the cached directory might have been reached through it.
    dir_stale: bool,
    euid: u32,
    egid: u32,
}

/// Copy `from` into `to`, each `write()` a full `buf` (the decompressor hands out 32 KiB at a
/// time): an error reading the layer is a malformed or cut stream, an error writing is the
/// destination's (ENOSPC …); the two are reported apart.
fn copy_file_data<R: Read, W: Write>(from: &mut R, to: &mut W, buf: &mut [u8], shown: &str) -> Result<(), UnpackError> {
    loop {
        let mut filled = 0;
        let mut eof = false;
        while filled < buf.len() {
            match from.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(UnpackError::Format(format!("reading {shown}: {e}"))),
            }
        }
        if filled > 0 {
            to.write_all(&buf[..filled]).map_err(io_err(format!("write {shown}")))?;
        }
        if eof {
            return Ok(());
        }
    }
}

/// Run `create`; when the name is taken (a later entry replacing an earlier one), clear it
/// with `clear` and try once more. Most entries are new names: one system call, no stat.
fn create_or_replace(mut create: impl FnMut() -> libc::c_int, clear: impl FnOnce()) -> io::Result<libc::c_int> {
    let r = create();
    if r >= 0 {
        return Ok(r);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EEXIST) {
        return Err(err);
    }
    clear();
    let r = create();
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Unpacker {
    /// The parent directory `comps` of an entry (created when missing), kept open for the
    /// next entry. The cached fd is the one openat2 gave for the same path: an entry only
    /// adds names inside its own parent, and one that removes a name drops the cache.
    fn parent_dir(&mut self, comps: &[String]) -> Result<RawFd, UnpackError> {
        let rel = comps.join("/");
        if self.dir_stale {
            self.dir = None;
            self.dir_stale = false;
        }
        if let Some(dir) = self.dir.as_ref().filter(|d| d.rel == rel) {
            return Ok(dir.fd.as_raw_fd());
        }
        let fd = self.parent(comps)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let own_group = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0 && st.st_gid == self.egid;
        let raw = fd.as_raw_fd();
        self.dir = Some(CachedDir { rel, fd, own_group });
        Ok(raw)
    }

    /// Open (creating missing directories) the parent of `comps`, inside the root.
    fn parent(&self, comps: &[String]) -> Result<OwnedFd, UnpackError> {
        let rel = comps.join("/");
        match open_in_root(self.root.as_raw_fd(), &rel, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                let mut dir = open_in_root(self.root.as_raw_fd(), "", libc::O_PATH | libc::O_DIRECTORY).map_err(io_err("open layer root"))?;
                for (i, comp) in comps.iter().enumerate() {
                    let cn = c(comp);
                    let r = unsafe { libc::mkdirat(dir.as_raw_fd(), cn.as_ptr(), 0o755) };
                    if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                        return Err(io_err(format!("create directory {}", comps[..=i].join("/")))(io::Error::last_os_error()));
                    }
                    if r == 0 {
                        // 0755 as containerd makes a directory the tar does not list, whatever the
                        // umask (ncx runs under 077, which would leave it 0700).
                        rc(unsafe { libc::fchmodat(dir.as_raw_fd(), cn.as_ptr(), 0o755, 0) })
                            .map_err(io_err(format!("chmod {}", comps[..=i].join("/"))))?;
                    }
                    dir = open_in_root(self.root.as_raw_fd(), &comps[..=i].join("/"), libc::O_PATH | libc::O_DIRECTORY)
                        .map_err(io_err(format!("open directory {}", comps[..=i].join("/"))))?;
                }
                Ok(dir)
            }
            Err(e) => Err(io_err(format!("open directory {rel}"))(e)),
        }
    }

    fn chown(&mut self, dir: RawFd, name: &CString, uid: u64, gid: u64) {
        let r = unsafe { libc::fchownat(dir, name.as_ptr(), uid as u32, gid as u32, libc::AT_SYMLINK_NOFOLLOW) };
        if r < 0 {
            self.report.unmapped_owners += 1;
        }
    }

    /// Remove whatever is at `name` unless it is a directory and `keep_dir` is set.
    fn clear(&mut self, dir: RawFd, name: &CString, keep_dir: bool) -> bool {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } < 0 {
            return false;
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir && keep_dir {
            return true;
        }
        let flag = if is_dir { libc::AT_REMOVEDIR } else { 0 };
        if unsafe { libc::unlinkat(dir, name.as_ptr(), flag) } == 0 {
            self.dir_stale = true;
        }
        false
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<(), UnpackError> {
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).to_string();
        let comps = clean_components(&raw_name)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mtime = header.mtime().unwrap_or(0) as i64;
        self.report.entries += 1;

        if comps.is_empty() {
            // "./": metadata of the layer root itself.
            if kind.is_dir() {
                // The root fd is O_PATH, on which fchown/fchmod fail with EBADF: go through ".".
                let root = self.root.as_raw_fd();
                let dot = c(".");
                self.chown(root, &dot, uid, gid);
                rc(unsafe { libc::fchmodat(root, dot.as_ptr(), mode, 0) }).map_err(io_err("chmod layer root"))?;
            }
            return Ok(());
        }
        let (name, parents) = comps.split_last().unwrap();
        let d = self.parent_dir(parents)?;

        if let Some(target) = name.strip_prefix(".wh.") {
            if target == ".wh..opq" {
                let fd = open_in_root(self.root.as_raw_fd(), &parents.join("/"), libc::O_RDONLY | libc::O_DIRECTORY)
                    .map_err(io_err(format!("open {}", parents.join("/"))))?;
                let key = c(&format!("{}overlay.opaque", self.opts.xattr_prefix));
                rc(unsafe { libc::fsetxattr(fd.as_raw_fd(), key.as_ptr(), b"y".as_ptr() as *const libc::c_void, 1, 0) })
                    .map_err(io_err(format!("mark {} opaque", parents.join("/"))))?;
            } else {
                let cn = c(target);
                create_or_replace(|| unsafe { libc::mknodat(d, cn.as_ptr(), libc::S_IFCHR, libc::makedev(0, 0)) }, || {
                    self.clear(d, &cn, false);
                })
                .map_err(io_err(format!("create whiteout for {shown}")))?;
            }
            return Ok(());
        }

        let cn = c(name);
        match kind {
            tar::EntryType::Directory => {
                let made = unsafe { libc::mkdirat(d, cn.as_ptr(), 0o700) };
                if made < 0 {
                    let err = io::Error::last_os_error();
                    if err.raw_os_error() != Some(libc::EEXIST) {
                        return Err(io_err(format!("create directory {shown}"))(err));
                    }
                    // Taken: a directory stays (its metadata is updated), anything else is replaced.
                    if !self.clear(d, &cn, true) {
                        rc(unsafe { libc::mkdirat(d, cn.as_ptr(), 0o700) }).map_err(io_err(format!("create directory {shown}")))?;
                    }
                }
                self.chown(d, &cn, uid, gid);
                rc(unsafe { libc::fchmodat(d, cn.as_ptr(), mode, 0) }).map_err(io_err(format!("chmod {shown}")))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
                let fd = create_or_replace(|| unsafe { libc::openat(d, cn.as_ptr(), flags, 0o600) }, || {
                    self.clear(d, &cn, false);
                })
                .map_err(io_err(format!("create {shown}")))?;
                let mut file = unsafe { File::from_raw_fd(fd) };
                copy_file_data(entry, &mut file, &mut self.buf, &shown)?;
                // A new file is already the unpacker's: most layers' files are 0:0, which is who
                // unpacks them in the user namespace.
                let own_group = self.dir.as_ref().is_some_and(|dir| dir.own_group);
                let already = uid == u64::from(self.euid) && gid == u64::from(self.egid) && own_group;
                if !already && unsafe { libc::fchown(fd, uid as u32, gid as u32) } < 0 {
                    self.report.unmapped_owners += 1;
                }
                rc(unsafe { libc::fchmod(fd, mode) }).map_err(io_err(format!("chmod {shown}")))?;
                self.xattrs(entry, fd);
                let times = [libc::timespec { tv_sec: mtime, tv_nsec: 0 }, libc::timespec { tv_sec: mtime, tv_nsec: 0 }];
                unsafe { libc::futimens(fd, times.as_ptr()) };
                file.flush().ok();
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default();
                let ct = CString::new(target).map_err(|_| UnpackError::Format(format!("symlink {shown} has a NUL in its target")))?;
                create_or_replace(|| unsafe { libc::symlinkat(ct.as_ptr(), d, cn.as_ptr()) }, || {
                    self.clear(d, &cn, false);
                })
                .map_err(io_err(format!("create symlink {shown}")))?;
                self.chown(d, &cn, uid, gid);
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default();
                let tcomps = clean_components(&target)?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(UnpackError::Escape { entry: shown });
                };
                let tdir = open_in_root(self.root.as_raw_fd(), &tparents.join("/"), libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(io_err(format!("hardlink {shown}: open target directory")))?;
                let tn = c(tname);
                create_or_replace(|| unsafe { libc::linkat(tdir.as_raw_fd(), tn.as_ptr(), d, cn.as_ptr(), 0) }, || {
                    self.clear(d, &cn, false);
                })
                .map_err(io_err(format!("hardlink {shown} -> {}", String::from_utf8_lossy(&target))))?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let fmt = match kind {
                    tar::EntryType::Char => libc::S_IFCHR,
                    tar::EntryType::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let dev = libc::makedev(
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                let made = create_or_replace(|| unsafe { libc::mknodat(d, cn.as_ptr(), fmt | mode, dev) }, || {
                    self.clear(d, &cn, false);
                });
                if made.is_err() {
                    self.report.skipped_devices += 1;
                } else {
                    self.chown(d, &cn, uid, gid);
                    // mknod's mode went through the umask: the tar's mode, exactly.
                    unsafe { libc::fchmodat(d, cn.as_ptr(), mode, 0) };
                }
            }
            _ => {} // pax global headers and other metadata-only entries
        }
        Ok(())
    }

    /// Best-effort: restore `SCHILY.xattr.*` (file capabilities and the like).
    fn xattrs<R: Read>(&self, entry: &mut tar::Entry<R>, fd: RawFd) {
        let Ok(Some(exts)) = entry.pax_extensions() else { return };
        for ext in exts.flatten() {
            if let (Ok(key), value) = (ext.key(), ext.value_bytes()) {
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    let cn = c(name);
                    unsafe { libc::fsetxattr(fd, cn.as_ptr(), value.as_ptr() as *const libc::c_void, value.len(), 0) };
                }
            }
        }
    }
}

/// Unpack `reader` (tar, tar+gzip or tar+zstd) into the existing directory `dest`.
pub fn unpack<R: Read + 'static>(reader: R, dest: &str, opts: UnpackOptions) -> Result<UnpackReport, UnpackError> {
    let dest_c = c(dest);
    let rootfd = unsafe { libc::open(dest_c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if rootfd < 0 {
        return Err(io_err(format!("open {dest}"))(io::Error::last_os_error()));
    }
    let root = unsafe { OwnedFd::from_raw_fd(rootfd) };
    let plain = decompressed(reader).map_err(io_err("read layer"))?;
    let hashing = HashingReader { inner: plain, hasher: Sha256::new(), count: 0 };
    let mut archive = tar::Archive::new(hashing);
    let mut unpacker = Unpacker {
        root,
        opts,
        report: UnpackReport::default(),
        buf: vec![0; WRITE_CHUNK],
        dir: None,
        dir_stale: false,
        euid: unsafe { libc::geteuid() },
        egid: unsafe { libc::getegid() },
    };
    {
        let entries = archive.entries().map_err(|e| UnpackError::Format(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| UnpackError::Format(e.to_string()))?;
            unpacker.entry(&mut entry)?;
        }
    }
    // Hash the end-of-archive blocks and any padding too: the diff-id covers the whole stream.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(io_err("read layer"))?;
    unpacker.report.diff_id = format!("sha256:{}", hex::encode(rest.hasher.finalize()));
    unpacker.report.size = rest.count;
    Ok(unpacker.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_names() {
        assert_eq!(clean_components(b"./a/b/").unwrap(), vec!["a", "b"]);
        assert_eq!(clean_components(b"/etc/passwd").unwrap(), vec!["etc", "passwd"]);
        assert_eq!(clean_components(b"a/../b").unwrap(), vec!["b"]);
        assert!(matches!(clean_components(b"../x"), Err(UnpackError::Escape { .. })));
        assert!(matches!(clean_components(b"a/../../x"), Err(UnpackError::Escape { .. })));
    }

    /// A writer that takes `room` bytes, then fails as a full file system does.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A reader that gives `len` bytes, then fails as a cut stream does.
    struct Cut {
        len: usize,
    }

    impl Read for Cut {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.len == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "unexpected end of file"));
            }
            let n = buf.len().min(self.len);
            self.len -= n;
            Ok(n)
        }
    }

    /// Hands out at most `step` bytes per read, as the decompressor does; records every write.
    struct Trickle {
        left: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.left);
            buf[..n].fill(1);
            self.left -= n;
            Ok(n)
        }
    }

    struct Writes(Vec<usize>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn file_data_is_written_in_full_buffers() {
        let mut buf = vec![0; 64 * 1024];
        let mut w = Writes(Vec::new());
        copy_file_data(&mut Trickle { left: 150_000, step: 32_758 }, &mut w, &mut buf, "f").unwrap();
        assert_eq!(w.0, vec![65_536, 65_536, 150_000 - 131_072]);
        let mut w = Writes(Vec::new());
        copy_file_data(&mut Trickle { left: 5000, step: 1000 }, &mut w, &mut buf, "small").unwrap();
        assert_eq!(w.0, vec![5000], "a small file is one write");
        let mut w = Writes(Vec::new());
        copy_file_data(&mut Trickle { left: 0, step: 1000 }, &mut w, &mut buf, "empty").unwrap();
        assert!(w.0.is_empty(), "an empty file needs no write");
    }

    #[test]
    fn a_full_disk_is_a_write_error_with_its_errno_and_a_cut_stream_is_not() {
        let mut buf = vec![0; 4096];
        let full = copy_file_data(&mut io::repeat(7).take(10_000), &mut FullDisk { room: 5000 }, &mut buf, "big").unwrap_err();
        assert_eq!(full.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(full.to_string(), format!("write big: {}", io::Error::from_raw_os_error(libc::ENOSPC)));
        let cut = copy_file_data(&mut Cut { len: 100 }, &mut io::sink(), &mut buf, "big").unwrap_err();
        assert_eq!(cut.raw_os_error(), None);
        assert_eq!(cut.to_string(), "layer is not a valid tar stream: reading big: unexpected end of file");
    }
}
