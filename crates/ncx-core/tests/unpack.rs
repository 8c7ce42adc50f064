// Over 600 lines: one test per hostile-layer shape, kept beside each other on purpose.
//! Integration tests for `ncx_core::unpack`: normal layers, compression, hostile entries,
//! whiteouts, replacement semantics and garbage input.
//!
//! Root-only behaviour (chown, whiteout mknod, `trusted.` xattrs) is guarded by
//! `geteuid() == 0`; unprivileged runs assert the documented fallback or a clear error.

use ncx_core::unpack::{unpack, UnpackError, UnpackOptions, UnpackReport};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique directory `<tmp>/ncx-unpack-<pid>-<n>-<tag>/` holding `dest/` (the layer
/// directory) and a sibling `outside/` (a canary that no layer may touch). Removed on drop.
struct Sandbox {
    base: PathBuf,
    dest: PathBuf,
    outside: PathBuf,
}

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = std::env::temp_dir().join(format!("ncx-unpack-{}-{}-{}", std::process::id(), n, tag));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        let dest = base.join("dest");
        let outside = base.join("outside");
        fs::create_dir(&dest).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("outside-file"), b"do not touch").unwrap();
        fs::set_permissions(outside.join("outside-file"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::create_dir(outside.join("sub")).unwrap();
        fs::write(outside.join("sub/secret"), b"secret").unwrap();
        Sandbox { base, dest, outside }
    }

    fn dest_str(&self) -> &str {
        self.dest.to_str().unwrap()
    }

    fn unpack(&self, layer: Vec<u8>) -> Result<UnpackReport, UnpackError> {
        self.unpack_with(layer, "trusted.")
    }

    fn unpack_with(&self, layer: Vec<u8>, prefix: &str) -> Result<UnpackReport, UnpackError> {
        unpack(Cursor::new(layer), self.dest_str(), UnpackOptions { xattr_prefix: prefix.to_string() })
    }

    /// Everything in the sandbox except `dest/`: the only places a layer must never write.
    fn snapshot_outside(&self) -> BTreeMap<PathBuf, String> {
        let mut map = BTreeMap::new();
        snapshot(&self.base, &self.base, Some(&self.dest), &mut map);
        map
    }

    /// Absolute path of `outside/` without its leading `/`, for building tar names that
    /// would hit it if a symlink were followed on the host.
    fn outside_rel(&self) -> String {
        self.outside.to_str().unwrap().trim_start_matches('/').to_string()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Make everything removable (layers may create 0o000 / 0o555 dirs).
        fn loosen(p: &Path) {
            if let Ok(md) = fs::symlink_metadata(p) {
                if md.is_dir() {
                    let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o755));
                    if let Ok(rd) = fs::read_dir(p) {
                        for e in rd.flatten() {
                            loosen(&e.path());
                        }
                    }
                }
            }
        }
        loosen(&self.base);
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn snapshot(root: &Path, p: &Path, skip: Option<&Path>, map: &mut BTreeMap<PathBuf, String>) {
    if Some(p) == skip {
        return;
    }
    let md = fs::symlink_metadata(p).unwrap();
    let rel = p.strip_prefix(root).unwrap().to_path_buf();
    let desc = if md.file_type().is_symlink() {
        format!("link {:?}", fs::read_link(p).unwrap())
    } else if md.is_file() {
        format!("file mode={:o} nlink={} ino={} data={:?}", md.mode(), md.nlink(), md.ino(), fs::read(p).unwrap())
    } else if md.is_dir() {
        format!("dir mode={:o}", md.mode())
    } else {
        format!("other mode={:o}", md.mode())
    };
    map.insert(rel, desc);
    if md.is_dir() {
        let mut names: Vec<_> = fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for n in names {
            snapshot(root, &n, skip, map);
        }
    }
}

fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn sha256_id(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn zstd_compress(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(Cursor::new(data), 3).unwrap()
}

fn getxattr(p: &Path, key: &str) -> Option<Vec<u8>> {
    let cp = CString::new(p.as_os_str().as_bytes()).unwrap();
    let ck = CString::new(key).unwrap();
    let mut buf = [0u8; 256];
    let n = unsafe { libc::lgetxattr(cp.as_ptr(), ck.as_ptr(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    if n < 0 {
        None
    } else {
        Some(buf[..n as usize].to_vec())
    }
}

// --- raw ustar writer (the `tar` crate's Builder refuses `..` and absolute names) --------

const REG: u8 = b'0';
const HARD: u8 = b'1';
const SYM: u8 = b'2';
const DIR: u8 = b'5';

fn octal(field: &mut [u8], value: u64) {
    // N-1 zero-padded octal digits followed by NUL.
    let digits = field.len() - 1;
    let s = format!("{:0width$o}", value, width = digits);
    assert_eq!(s.len(), digits, "value {value} does not fit in a {}-byte field", field.len());
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
}

/// One raw 512-byte ustar header with a correct checksum.
fn ustar_header(name: &str, typeflag: u8, mode: u32, size: u64, linkname: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    assert!(name.len() <= 100, "name too long for the raw helper: {name}");
    assert!(linkname.len() <= 100, "linkname too long for the raw helper: {linkname}");
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], mode as u64);
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 1_600_000_000); // mtime
    h[156] = typeflag;
    h[157..157 + linkname.len()].copy_from_slice(linkname.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    // Checksum: sum of all header bytes with the checksum field taken as 8 spaces,
    // stored as six octal digits, NUL, space.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let s = format!("{:06o}\0 ", sum);
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

#[derive(Default)]
struct RawTar {
    buf: Vec<u8>,
}

impl RawTar {
    fn new() -> RawTar {
        RawTar::default()
    }
    fn entry(mut self, name: &str, typeflag: u8, mode: u32, data: &[u8], linkname: &str) -> Self {
        self.buf.extend_from_slice(&ustar_header(name, typeflag, mode, data.len() as u64, linkname));
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat(0u8).take(pad));
        self
    }
    fn file(self, name: &str, mode: u32, data: &[u8]) -> Self {
        self.entry(name, REG, mode, data, "")
    }
    fn dir(self, name: &str, mode: u32) -> Self {
        self.entry(name, DIR, mode, b"", "")
    }
    fn symlink(self, name: &str, target: &str) -> Self {
        self.entry(name, SYM, 0o777, b"", target)
    }
    fn hardlink(self, name: &str, target: &str) -> Self {
        self.entry(name, HARD, 0o644, b"", target)
    }
    fn finish(mut self) -> Vec<u8> {
        self.buf.extend(std::iter::repeat(0u8).take(1024));
        self.buf
    }
}

/// Run one hostile layer and assert that nothing outside `dest/` changed.
fn hostile(tag: &str, layer: Vec<u8>) -> (Sandbox, Result<UnpackReport, UnpackError>) {
    let sb = Sandbox::new(tag);
    let before = sb.snapshot_outside();
    let res = sb.unpack(layer);
    let after = sb.snapshot_outside();
    assert_eq!(before, after, "[{tag}] layer modified files outside dest (result: {res:?})");
    (sb, res)
}

// ---------------------------------------------------------------------------------------
// 1. normal layer
// ---------------------------------------------------------------------------------------

const LONG_NAME: &str = "usr/share/doc/a-package-with-a-rather-long-name/and-a-deep-subdirectory/holding-a-file-whose-path-exceeds-100-bytes.txt";

/// A layer written with the `tar` crate's GNU headers (long names via `././@LongLink`).
fn normal_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>, uid: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        match link {
            Some(l) => b.append_link(&mut h, name, l).unwrap(),
            None => b.append_data(&mut h, name, data).unwrap(),
        }
    };
    add("bin/", tar::EntryType::Directory, 0o755, b"", None, 0);
    add("bin/tool", tar::EntryType::Regular, 0o755, b"#!/bin/sh\necho hi\n", None, 0);
    add("etc/", tar::EntryType::Directory, 0o750, b"", None, 0);
    add("etc/config", tar::EntryType::Regular, 0o640, b"key=value\n", None, 0);
    add("etc/secret", tar::EntryType::Regular, 0o600, b"", None, 0);
    add("etc/setuid-prog", tar::EntryType::Regular, 0o4755, b"ELF", None, 0);
    add("home/user/", tar::EntryType::Directory, 0o700, b"", None, 1000);
    add("home/user/notes", tar::EntryType::Regular, 0o644, &vec![b'x'; 70_000], None, 1000);
    add("bin/sh-link", tar::EntryType::Symlink, 0o777, b"", Some("tool"), 0);
    add("abs-link", tar::EntryType::Symlink, 0o777, b"", Some("/etc/config"), 0);
    add("dangling", tar::EntryType::Symlink, 0o777, b"", Some("../nowhere/at/all"), 0);
    add("bin/tool-hard", tar::EntryType::Link, 0o755, b"", Some("bin/tool"), 0);
    add(LONG_NAME, tar::EntryType::Regular, 0o444, b"long\n", None, 0);
    b.into_inner().unwrap()
}

fn check_normal_tree(dest: &Path, report: &UnpackReport) {
    assert_eq!(fs::read(dest.join("bin/tool")).unwrap(), b"#!/bin/sh\necho hi\n");
    assert_eq!(mode_of(&dest.join("bin/tool")), 0o755);
    assert_eq!(mode_of(&dest.join("bin")), 0o755);
    assert_eq!(mode_of(&dest.join("etc")), 0o750);
    assert_eq!(fs::read(dest.join("etc/config")).unwrap(), b"key=value\n");
    assert_eq!(mode_of(&dest.join("etc/config")), 0o640);
    assert_eq!(fs::read(dest.join("etc/secret")).unwrap(), b"");
    assert_eq!(mode_of(&dest.join("etc/secret")), 0o600);
    assert_eq!(mode_of(&dest.join("etc/setuid-prog")), 0o4755, "setuid bit must survive");
    assert_eq!(mode_of(&dest.join("home/user")), 0o700);
    assert_eq!(fs::read(dest.join("home/user/notes")).unwrap(), vec![b'x'; 70_000]);
    assert_eq!(fs::read(dest.join(LONG_NAME)).unwrap(), b"long\n");
    assert_eq!(mode_of(&dest.join(LONG_NAME)), 0o444);
    assert_eq!(fs::symlink_metadata(dest.join("bin/tool")).unwrap().mtime(), 1_600_000_000);

    // Symlinks are stored verbatim, never rewritten or followed.
    for (name, target) in [("bin/sh-link", "tool"), ("abs-link", "/etc/config"), ("dangling", "../nowhere/at/all")] {
        let md = fs::symlink_metadata(dest.join(name)).unwrap();
        assert!(md.file_type().is_symlink(), "{name} should be a symlink");
        assert_eq!(fs::read_link(dest.join(name)).unwrap(), Path::new(target));
    }

    // Hardlink shares the inode.
    let a = fs::metadata(dest.join("bin/tool")).unwrap();
    let b = fs::metadata(dest.join("bin/tool-hard")).unwrap();
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
    assert_eq!(a.nlink(), 2);

    // Ownership: applied as root, counted as unmapped otherwise.
    let home = fs::symlink_metadata(dest.join("home/user/notes")).unwrap();
    if is_root() {
        assert_eq!((home.uid(), home.gid()), (1000, 1000));
        assert_eq!(report.unmapped_owners, 0);
    } else {
        assert!(report.unmapped_owners >= 2, "chown to 1000 should fail and be counted: {report:?}");
    }
    assert_eq!(report.entries, 13);
    assert_eq!(report.skipped_devices, 0);
}

#[test]
fn normal_layer_plain() {
    let layer = normal_layer();
    let sb = Sandbox::new("normal");
    let report = sb.unpack(layer.clone()).expect("normal layer unpacks");
    assert_eq!(report.diff_id, sha256_id(&layer));
    assert_eq!(report.size, layer.len() as u64);
    check_normal_tree(&sb.dest, &report);
}

#[test]
fn normal_layer_gzip_and_zstd_same_diff_id() {
    let layer = normal_layer();
    let expect = sha256_id(&layer);
    for (what, compressed) in [("gzip", gzip(&layer)), ("zstd", zstd_compress(&layer))] {
        assert_ne!(compressed, layer);
        let sb = Sandbox::new(what);
        let report = sb.unpack(compressed).unwrap_or_else(|e| panic!("{what} layer: {e}"));
        assert_eq!(report.diff_id, expect, "{what} diff_id must hash the uncompressed stream");
        assert_eq!(report.size, layer.len() as u64, "{what} size is the uncompressed size");
        check_normal_tree(&sb.dest, &report);
    }
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    // Some producers concatenate gzip members; the diff-id covers all of them.
    let layer = normal_layer();
    let (a, b) = layer.split_at(4096);
    let mut compressed = gzip(a);
    compressed.extend(gzip(b));
    let sb = Sandbox::new("multigz");
    let report = sb.unpack(compressed).unwrap();
    assert_eq!(report.diff_id, sha256_id(&layer));
    assert_eq!(report.size, layer.len() as u64);
    check_normal_tree(&sb.dest, &report);
}

#[test]
fn diff_id_covers_trailing_padding() {
    // GNU tar pads archives to 10240-byte records: the padding is part of the diff-id.
    let mut layer = RawTar::new().dir("d/", 0o755).file("d/f", 0o644, b"hello").finish();
    layer.resize(10240, 0);
    let sb = Sandbox::new("padding");
    let report = sb.unpack(layer.clone()).unwrap();
    assert_eq!(report.size, 10240);
    assert_eq!(report.diff_id, sha256_id(&layer));
    assert_eq!(fs::read(sb.dest.join("d/f")).unwrap(), b"hello");
}

#[test]
fn raw_ustar_helper_produces_valid_headers() {
    // The helper's headers must parse with the tar crate (checksum, magic, fields).
    let layer = RawTar::new()
        .dir("dir/", 0o751)
        .file("dir/file", 0o640, b"contents")
        .symlink("dir/sym", "../target")
        .hardlink("dir/hard", "dir/file")
        .finish();
    let mut ar = tar::Archive::new(Cursor::new(layer.clone()));
    let got: Vec<(String, tar::EntryType, u32, Option<String>)> = ar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                h.entry_type(),
                h.mode().unwrap(),
                e.link_name_bytes().map(|b| String::from_utf8(b.into_owned()).unwrap()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("dir/".into(), tar::EntryType::Directory, 0o751, None),
            ("dir/file".into(), tar::EntryType::Regular, 0o640, None),
            ("dir/sym".into(), tar::EntryType::Symlink, 0o777, Some("../target".into())),
            ("dir/hard".into(), tar::EntryType::Link, 0o644, Some("dir/file".into())),
        ]
    );
    let sb = Sandbox::new("rawhelper");
    sb.unpack(layer).unwrap();
    assert_eq!(mode_of(&sb.dest.join("dir")), 0o751);
    assert_eq!(fs::read(sb.dest.join("dir/hard")).unwrap(), b"contents");
}

#[test]
fn root_entry_sets_layer_root_metadata() {
    // A "./" entry carries the metadata of the layer root itself.
    let sb = Sandbox::new("rootentry");
    fs::set_permissions(&sb.dest, fs::Permissions::from_mode(0o700)).unwrap();
    let layer = RawTar::new().dir("./", 0o755).file("./f", 0o644, b"x").finish();
    sb.unpack(layer).unwrap();
    assert_eq!(mode_of(&sb.dest), 0o755, "mode of the ./ entry must be applied to dest");
    assert_eq!(fs::read(sb.dest.join("f")).unwrap(), b"x");
}

// ---------------------------------------------------------------------------------------
// 2. hostile entries
// ---------------------------------------------------------------------------------------

#[test]
fn hostile_dotdot_names_are_rejected() {
    for (i, name) in ["../escape", "a/../../escape", "./../escape", "a/b/../../../escape"].iter().enumerate() {
        let layer = RawTar::new().dir("a/", 0o755).file(name, 0o644, b"pwned").finish();
        let (sb, res) = hostile(&format!("dotdot{i}"), layer);
        assert!(matches!(res, Err(UnpackError::Escape { .. })), "{name}: expected Escape, got {res:?}");
        assert!(!sb.base.join("escape").exists(), "{name}: file written next to dest");
        assert!(!is_ours(&sb.base.parent().unwrap().join("escape")), "{name}: file written two levels up");
        // The error message names the entry and says what happened.
        let msg = res.unwrap_err().to_string();
        assert!(msg.contains("outside the layer"), "unclear error: {msg}");
    }
}

/// True if `p` is a file this test suite would have written ("pwned").
fn is_ours(p: &Path) -> bool {
    fs::read(p).map(|d| d == b"pwned").unwrap_or(false)
}

#[test]
fn hostile_dotdot_that_stays_inside_is_fine() {
    let layer = RawTar::new().file("a/b/../c", 0o644, b"inside").finish();
    let (sb, res) = hostile("dotdot-inside", layer);
    res.unwrap();
    assert_eq!(fs::read(sb.dest.join("a/c")).unwrap(), b"inside");
}

#[test]
fn hostile_absolute_name_lands_inside_dest() {
    let sb0 = Sandbox::new("abs-probe");
    // Aim the absolute name at the real outside/ directory.
    let abs = format!("{}/abs-planted", sb0.outside.to_str().unwrap());
    assert!(abs.len() <= 100);
    let layer = RawTar::new().file(&abs, 0o644, b"pwned").finish();
    let before = sb0.snapshot_outside();
    let res = sb0.unpack(layer);
    assert_eq!(before, sb0.snapshot_outside(), "absolute name wrote outside dest");
    assert!(!sb0.outside.join("abs-planted").exists());
    match res {
        Ok(_) => assert_eq!(
            fs::read(sb0.dest.join(abs.trim_start_matches('/'))).unwrap(),
            b"pwned",
            "absolute name must be re-rooted at dest"
        ),
        Err(e) => assert!(matches!(e, UnpackError::Escape { .. }), "unexpected error {e}"),
    }
}

#[test]
fn hostile_symlink_to_root_then_entry_through_it() {
    // Unique name so a (buggy) escape is detectable at the host's /.
    let canary = format!("ncx-canary-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    for (i, target) in ["/", "../../..", "../../../../../../../..", "/.."].iter().enumerate() {
        let sb = Sandbox::new(&format!("symroot{i}"));
        // Second attack aims, via the symlink, at this sandbox's real outside/ directory.
        let through = format!("evil/{}/planted", sb.outside_rel());
        assert!(through.len() <= 100, "tmp path too long for the test: {through}");
        let layer = RawTar::new()
            .symlink("evil", target)
            .file(&format!("evil/{canary}"), 0o644, b"pwned")
            .file(&through, 0o644, b"pwned")
            .finish();
        let before = sb.snapshot_outside();
        let res = sb.unpack(layer);
        let host_canary = Path::new("/").join(&canary);
        let escaped = host_canary.exists();
        if escaped {
            let _ = fs::remove_file(&host_canary);
        }
        assert!(!escaped, "symlink {target}: wrote /{canary} on the host");
        assert_eq!(before, sb.snapshot_outside(), "symlink {target}: wrote into outside/ (result {res:?})");
        assert!(!sb.outside.join("planted").exists());
        match res {
            Ok(_) => {
                // RESOLVE_IN_ROOT: the symlink resolves to dest itself.
                assert_eq!(fs::read(sb.dest.join(&canary)).unwrap(), b"pwned", "symlink {target}");
                assert_eq!(fs::read(sb.dest.join(format!("{}/planted", sb.outside_rel()))).unwrap(), b"pwned");
                assert_eq!(fs::read_link(sb.dest.join("evil")).unwrap(), Path::new(target));
            }
            Err(e) => panic!("symlink {target}: resolving in root should succeed, got {e}"),
        }
    }
}

#[test]
fn hostile_symlink_to_outside_dir_then_write_and_hardlink_through_it() {
    let sb = Sandbox::new("symout");
    let out = sb.outside.to_str().unwrap().to_string();
    let secret_before = fs::metadata(sb.outside.join("sub/secret")).unwrap();

    // (a) write a file through the symlink
    let layer = RawTar::new().symlink("lnk", &out).file("lnk/planted", 0o644, b"pwned").finish();
    let before = sb.snapshot_outside();
    let res = sb.unpack(layer);
    assert_eq!(before, sb.snapshot_outside(), "write through symlink escaped: {res:?}");
    assert!(!sb.outside.join("planted").exists());
    if res.is_ok() {
        // Only acceptable if it landed under dest/<abs path of outside>/.
        assert_eq!(fs::read(sb.dest.join(sb.outside_rel()).join("planted")).unwrap(), b"pwned");
    }

    // (b) hardlink whose *target* goes through the symlink: must not link outside/sub/secret
    let sb2 = Sandbox::new("symout-hl");
    let out2 = sb2.outside.to_str().unwrap().to_string();
    let layer = RawTar::new().symlink("lnk", &out2).hardlink("stolen", "lnk/sub/secret").finish();
    let before = sb2.snapshot_outside();
    let res = sb2.unpack(layer);
    assert_eq!(before, sb2.snapshot_outside(), "hardlink through symlink escaped: {res:?}");
    assert_eq!(fs::metadata(sb2.outside.join("sub/secret")).unwrap().nlink(), 1, "outside file gained a link");
    if let Ok(md) = fs::symlink_metadata(sb2.dest.join("stolen")) {
        let s = fs::metadata(sb2.outside.join("sub/secret")).unwrap();
        assert_ne!((md.dev(), md.ino()), (s.dev(), s.ino()), "dest/stolen is the outside file");
    }
    assert!(res.is_err(), "target does not exist inside dest, so the link must fail: {res:?}");

    // (c) hardlink whose *name* goes through the symlink
    let sb3 = Sandbox::new("symout-hl2");
    let out3 = sb3.outside.to_str().unwrap().to_string();
    let layer = RawTar::new()
        .file("inner", 0o644, b"pwned")
        .symlink("lnk", &out3)
        .hardlink("lnk/planted-link", "inner")
        .finish();
    let before = sb3.snapshot_outside();
    let res = sb3.unpack(layer);
    assert_eq!(before, sb3.snapshot_outside(), "hardlink name through symlink escaped: {res:?}");
    assert!(!sb3.outside.join("planted-link").exists());

    // The first sandbox's secret is untouched as well.
    let secret_after = fs::metadata(sb.outside.join("sub/secret")).unwrap();
    assert_eq!((secret_before.ino(), secret_before.nlink()), (secret_after.ino(), secret_after.nlink()));
}

#[test]
fn hostile_symlinked_parent_dir_chain() {
    // `up -> ..` would be dest/.. = the sandbox base on the host; `sec -> up/outside/sub`
    // chains through it. Resolved in root, `..` at the root stays at the root.
    let sb = Sandbox::new("chain");
    let layer = RawTar::new()
        .symlink("up", "..")
        .symlink("sec", "up/outside/sub")
        .dir("up/outside/newdir/", 0o777)
        .file("up/outside/outside-file", 0o666, b"pwned")
        .dir("up/outside/sub/", 0o700)
        .file("sec/secret", 0o666, b"pwned")
        .finish();
    let before = sb.snapshot_outside();
    let res = sb.unpack(layer);
    assert_eq!(before, sb.snapshot_outside(), "relative symlink chain escaped: {res:?}");
    assert_eq!(fs::read(sb.outside.join("outside-file")).unwrap(), b"do not touch");
    assert_eq!(fs::read(sb.outside.join("sub/secret")).unwrap(), b"secret");
    assert!(!sb.outside.join("newdir").exists());
    res.expect("in-root resolution of the chain succeeds");
    assert_eq!(fs::read(sb.dest.join("outside/outside-file")).unwrap(), b"pwned");
    assert_eq!(fs::read(sb.dest.join("outside/sub/secret")).unwrap(), b"pwned");
    assert!(sb.dest.join("outside/newdir").is_dir());
}

#[test]
fn hostile_hardlink_dotdot_target_is_rejected() {
    let layer = RawTar::new().hardlink("stolen", "../../outside-file").finish();
    let (sb, res) = hostile("hl-dotdot", layer);
    assert!(matches!(res, Err(UnpackError::Escape { .. })), "expected Escape, got {res:?}");
    assert!(!sb.dest.join("stolen").exists());
    assert_eq!(fs::metadata(sb.outside.join("outside-file")).unwrap().nlink(), 1);

    let layer = RawTar::new().hardlink("stolen", "../outside/outside-file").finish();
    let (sb, res) = hostile("hl-dotdot2", layer);
    assert!(matches!(res, Err(UnpackError::Escape { .. })), "expected Escape, got {res:?}");
    assert_eq!(fs::metadata(sb.outside.join("outside-file")).unwrap().nlink(), 1);
}

#[test]
fn hostile_hardlink_to_absolute_host_file() {
    let host = fs::metadata("/etc/passwd").ok();

    // (a) dest has no etc/passwd: rejected, and no link to the host file anywhere.
    let layer = RawTar::new().hardlink("pw", "/etc/passwd").finish();
    let (sb, res) = hostile("hl-abs", layer);
    assert!(res.is_err(), "hardlink to a missing in-layer target must fail: {res:?}");
    assert!(fs::symlink_metadata(sb.dest.join("pw")).is_err(), "dest/pw created");
    if let Some(h) = &host {
        assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), h.nlink(), "host /etc/passwd gained a link");
    }

    // (b) the layer ships its own etc/passwd: the link goes to that one.
    let layer = RawTar::new()
        .dir("etc/", 0o755)
        .file("etc/passwd", 0o644, b"layer-passwd\n")
        .hardlink("pw", "/etc/passwd")
        .finish();
    let (sb, res) = hostile("hl-abs2", layer);
    res.expect("hardlink to in-layer /etc/passwd");
    let pw = fs::metadata(sb.dest.join("pw")).unwrap();
    let lp = fs::metadata(sb.dest.join("etc/passwd")).unwrap();
    assert_eq!((pw.dev(), pw.ino()), (lp.dev(), lp.ino()));
    assert_eq!(fs::read(sb.dest.join("pw")).unwrap(), b"layer-passwd\n");
    if let Some(h) = &host {
        assert_ne!((pw.dev(), pw.ino()), (h.dev(), h.ino()), "linked to the host's /etc/passwd");
        assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), h.nlink());
    }

    // (c) etc is a symlink to the host's /etc: resolution stays in dest (loops or fails).
    let layer = RawTar::new().symlink("etc", "/etc").hardlink("pw", "etc/passwd").finish();
    let (sb, res) = hostile("hl-abs3", layer);
    if let Ok(md) = fs::symlink_metadata(sb.dest.join("pw")) {
        if let Some(h) = &host {
            assert_ne!((md.dev(), md.ino()), (h.dev(), h.ino()), "linked to the host's /etc/passwd");
        }
    }
    assert!(res.is_err(), "etc -> /etc resolves to itself inside dest; link must fail: {res:?}");
    if let Some(h) = &host {
        assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), h.nlink());
    }
}

#[test]
fn hostile_file_over_symlink_does_not_write_through() {
    // A regular file entry whose name is an existing symlink to outside replaces the link.
    let sb = Sandbox::new("overwrite-link");
    let target = sb.outside.join("outside-file");
    let layer = RawTar::new()
        .symlink("victim", target.to_str().unwrap())
        .file("victim", 0o644, b"pwned")
        .finish();
    let before = sb.snapshot_outside();
    sb.unpack(layer).unwrap();
    assert_eq!(before, sb.snapshot_outside());
    assert_eq!(fs::read(&target).unwrap(), b"do not touch");
    let md = fs::symlink_metadata(sb.dest.join("victim")).unwrap();
    assert!(md.is_file());
    assert_eq!(fs::read(sb.dest.join("victim")).unwrap(), b"pwned");

    // Same for a pre-existing symlink in dest (e.g. from a previous, hostile layer).
    let sb = Sandbox::new("overwrite-link2");
    std::os::unix::fs::symlink(sb.outside.join("outside-file"), sb.dest.join("victim")).unwrap();
    std::os::unix::fs::symlink(&sb.outside, sb.dest.join("victimdir")).unwrap();
    let layer = RawTar::new()
        .file("victim", 0o600, b"pwned")
        .dir("victimdir/", 0o777)
        .file("victimdir/planted", 0o644, b"pwned")
        .finish();
    let before = sb.snapshot_outside();
    sb.unpack(layer).unwrap();
    assert_eq!(before, sb.snapshot_outside());
    assert!(sb.dest.join("victimdir").symlink_metadata().unwrap().is_dir());
    assert_eq!(fs::read(sb.dest.join("victimdir/planted")).unwrap(), b"pwned");
}

#[test]
fn hostile_whiteout_of_dot_and_dotdot() {
    // `.wh..` / `.wh...` name "." and ".." — must not remove or replace anything.
    for (i, name) in [".wh..", ".wh...", "sub/.wh...", "sub/.wh.."].iter().enumerate() {
        let layer = RawTar::new().dir("sub/", 0o755).file(name, 0o644, b"").finish();
        let (sb, res) = hostile(&format!("wh-dot{i}"), layer);
        assert!(sb.dest.is_dir());
        assert!(sb.outside.is_dir());
        assert!(sb.dest.join("sub").is_dir(), "{name}: sub removed ({res:?})");
        assert!(res.is_err(), "{name}: whiteout of . or .. must fail, got {res:?}");
    }
}

#[test]
fn hostile_opaque_through_symlink_stays_inside() {
    let sb = Sandbox::new("opq-sym");
    let out = sb.outside.to_str().unwrap().to_string();
    let prefix = if is_root() { "trusted." } else { "user." };
    let layer = RawTar::new().symlink("lnk", &out).file("lnk/.wh..wh..opq", 0o644, b"").finish();
    let before = sb.snapshot_outside();
    let _ = sb.unpack_with(layer, prefix);
    assert_eq!(before, sb.snapshot_outside());
    assert_eq!(getxattr(&sb.outside, &format!("{prefix}overlay.opaque")), None, "outside/ was marked opaque");
}

// ---------------------------------------------------------------------------------------
// 3. whiteouts
// ---------------------------------------------------------------------------------------

#[test]
fn whiteout_becomes_char_device_0_0() {
    let sb = Sandbox::new("whiteout");
    let layer = RawTar::new()
        .file("gone", 0o644, b"about to be whited out")
        .dir("dir/", 0o755)
        .file("dir/.wh.inner", 0o644, b"")
        .file(".wh.gone", 0o644, b"")
        .finish();
    match sb.unpack(layer) {
        Ok(report) => {
            for p in [sb.dest.join("gone"), sb.dest.join("dir/inner")] {
                let md = fs::symlink_metadata(&p).unwrap();
                assert!(md.file_type().is_char_device(), "{p:?} should be a char device");
                assert_eq!(md.rdev(), 0, "{p:?} should be 0:0");
            }
            assert!(!sb.dest.join(".wh.gone").exists(), "the .wh. entry itself must not be written");
            assert!(!sb.dest.join("dir/.wh.inner").exists());
            assert_eq!(report.entries, 4);
        }
        Err(e) => {
            // Unprivileged mknod of 0:0 whiteouts needs Linux >= 5.8; root must always succeed.
            assert!(!is_root(), "whiteout mknod failed as root: {e}");
            assert!(matches!(e, UnpackError::Io { .. }), "expected an Io error, got {e:?}");
            assert!(e.to_string().contains("whiteout"), "unclear error: {e}");
        }
    }
}

#[test]
fn opaque_dir_gets_overlay_xattr() {
    let layer = || {
        RawTar::new()
            .dir("dir/", 0o755)
            .file("dir/.wh..wh..opq", 0o644, b"")
            .file("dir/kept", 0o644, b"k")
            .dir("other/", 0o755)
            .finish()
    };
    let sb = Sandbox::new("opaque");
    let res = sb.unpack_with(layer(), "trusted.");
    if is_root() {
        res.expect("opaque dir as root");
        assert_eq!(getxattr(&sb.dest.join("dir"), "trusted.overlay.opaque"), Some(b"y".to_vec()));
        assert_eq!(getxattr(&sb.dest.join("other"), "trusted.overlay.opaque"), None);
        assert!(!sb.dest.join("dir/.wh..wh..opq").exists());
        assert_eq!(fs::read(sb.dest.join("dir/kept")).unwrap(), b"k");
    } else {
        // trusted.* needs CAP_SYS_ADMIN: the failure must be a clear Io error.
        let e = res.expect_err("trusted. xattr as non-root");
        assert!(matches!(e, UnpackError::Io { .. }), "{e:?}");
        assert!(e.to_string().contains("opaque"), "unclear error: {e}");
    }

    // The `user.` prefix (overlay's userxattr) works unprivileged where the fs supports it.
    let sb = Sandbox::new("opaque-user");
    match sb.unpack_with(layer(), "user.") {
        Ok(_) => {
            assert_eq!(getxattr(&sb.dest.join("dir"), "user.overlay.opaque"), Some(b"y".to_vec()));
            assert_eq!(getxattr(&sb.dest.join("dir"), "trusted.overlay.opaque"), None);
        }
        Err(e) => {
            // Only acceptable when the filesystem lacks user xattrs.
            assert!(e.to_string().contains("opaque"), "unclear error: {e}");
            match e {
                UnpackError::Io { err, .. } => assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{err}"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. later entries replace earlier ones
// ---------------------------------------------------------------------------------------

#[test]
fn later_entries_replace_earlier_ones() {
    let sb = Sandbox::new("replace");
    let layer = RawTar::new()
        // file -> symlink
        .file("a", 0o644, b"first")
        .symlink("a", "target-of-a")
        // symlink -> dir (the symlink points at a real dir which must stay untouched)
        .dir("real/", 0o755)
        .file("real/keep", 0o644, b"keep")
        .symlink("b", "real")
        .dir("b/", 0o711)
        .file("b/inside", 0o644, b"in b")
        // file -> file (new content and mode, no write-through to a hardlinked twin)
        .file("c", 0o644, b"old c")
        .hardlink("c-twin", "c")
        .file("c", 0o600, b"new c")
        // symlink -> file
        .symlink("d", "real/keep")
        .file("d", 0o644, b"d is a file")
        // dir -> dir keeps contents, updates mode
        .dir("e/", 0o755)
        .file("e/x", 0o644, b"x")
        .dir("e/", 0o700)
        // empty dir -> file
        .dir("f/", 0o755)
        .file("f", 0o644, b"f is a file")
        .finish();
    sb.unpack(layer).unwrap();
    let d = &sb.dest;

    assert!(fs::symlink_metadata(d.join("a")).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_link(d.join("a")).unwrap(), Path::new("target-of-a"));

    let b = fs::symlink_metadata(d.join("b")).unwrap();
    assert!(b.is_dir(), "b should now be a real directory");
    assert_eq!(b.mode() & 0o7777, 0o711);
    assert_eq!(fs::read(d.join("b/inside")).unwrap(), b"in b");
    assert!(!d.join("real/inside").exists(), "write went through the old symlink");
    assert_eq!(mode_of(&d.join("real")), 0o755);
    assert_eq!(fs::read(d.join("real/keep")).unwrap(), b"keep");

    assert_eq!(fs::read(d.join("c")).unwrap(), b"new c");
    assert_eq!(mode_of(&d.join("c")), 0o600);
    assert_eq!(fs::read(d.join("c-twin")).unwrap(), b"old c", "replacing c must not rewrite its hardlink twin");

    assert!(fs::symlink_metadata(d.join("d")).unwrap().is_file());
    assert_eq!(fs::read(d.join("d")).unwrap(), b"d is a file");
    assert_eq!(fs::read(d.join("real/keep")).unwrap(), b"keep");

    assert_eq!(mode_of(&d.join("e")), 0o700);
    assert_eq!(fs::read(d.join("e/x")).unwrap(), b"x");

    assert!(fs::symlink_metadata(d.join("f")).unwrap().is_file());
    assert_eq!(fs::read(d.join("f")).unwrap(), b"f is a file");
}

#[test]
fn a_parent_reached_through_a_replaced_symlink_is_resolved_again() {
    // The unpacker keeps the last entry's parent directory open for the next entry. Here an
    // entry replaces the symlink that parent was reached through: the next entry with the same
    // parent path must be resolved again, as if nothing had been kept.
    let sb = Sandbox::new("recache");
    let layer = RawTar::new()
        .dir("d/", 0o755)
        .symlink("d/up", "/")
        .file("d/up/d/x", 0o644, b"x") // d/up/d is d itself
        .dir("d/up/d/up/", 0o755) // replaces the symlink d/up with a directory
        .file("d/up/d/y", 0o644, b"y") // now a new path: d/up/d/y
        .finish();
    sb.unpack(layer).unwrap();
    let d = &sb.dest;
    assert_eq!(fs::read(d.join("d/x")).unwrap(), b"x");
    assert!(fs::symlink_metadata(d.join("d/up")).unwrap().is_dir());
    assert_eq!(fs::read(d.join("d/up/d/y")).unwrap(), b"y");
    assert!(!d.join("d/y").exists(), "y went into the directory cached before the symlink was replaced");
}

#[test]
fn files_of_one_directory_and_of_the_next_land_in_their_own() {
    let sb = Sandbox::new("dirs");
    let mut t = RawTar::new().dir("a/", 0o755).dir("b/", 0o755);
    for i in 0..5 {
        t = t.file(&format!("a/{i}"), 0o644, b"in a").file(&format!("b/{i}"), 0o644, b"in b").file(&format!("{i}"), 0o644, b"top");
    }
    let report = sb.unpack(t.file("a/last", 0o600, &vec![7u8; 3 << 20]).finish()).unwrap();
    assert_eq!(report.entries, 18);
    for i in 0..5 {
        assert_eq!(fs::read(sb.dest.join(format!("a/{i}"))).unwrap(), b"in a");
        assert_eq!(fs::read(sb.dest.join(format!("b/{i}"))).unwrap(), b"in b");
        assert_eq!(fs::read(sb.dest.join(format!("{i}"))).unwrap(), b"top");
    }
    assert_eq!(fs::read(sb.dest.join("a/last")).unwrap(), vec![7u8; 3 << 20]);
    assert_eq!(mode_of(&sb.dest.join("a/last")), 0o600);
}

// ---------------------------------------------------------------------------------------
// 5. garbage and truncated input
// ---------------------------------------------------------------------------------------

fn pseudo_random(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn garbage_input_is_an_error_not_a_panic() {
    for (i, len) in [1usize, 100, 511, 512, 513, 4096, 100_000].iter().enumerate() {
        let mut data = pseudo_random(*len, 0x9e3779b97f4a7c15 ^ *len as u64);
        // Make sure it is not mistaken for gzip / zstd / an all-zero end-of-archive.
        data[0] = b'G';
        let sb = Sandbox::new(&format!("garbage{i}"));
        let res = sb.unpack(data);
        assert!(
            matches!(res, Err(UnpackError::Format(_)) | Err(UnpackError::Io { .. })),
            "{len} garbage bytes: expected Format or Io, got {res:?}"
        );
        assert_eq!(fs::read_dir(&sb.dest).unwrap().count(), 0, "garbage created files");
    }
}

#[test]
fn garbage_with_compression_magic_is_an_error() {
    let mut gz = vec![0x1f, 0x8b];
    gz.extend(pseudo_random(2000, 7));
    let mut zst = vec![0x28, 0xb5, 0x2f, 0xfd];
    zst.extend(pseudo_random(2000, 11));
    for (what, data) in [("gzip", gz), ("zstd", zst)] {
        let sb = Sandbox::new(what);
        let res = sb.unpack(data);
        assert!(
            matches!(res, Err(UnpackError::Format(_)) | Err(UnpackError::Io { .. })),
            "{what} garbage: expected Format or Io, got {res:?}"
        );
    }
}

#[test]
fn truncated_gzip_is_an_error() {
    let layer = normal_layer();
    let gz = gzip(&layer);
    for cut in [10, gz.len() / 3, gz.len() / 2, gz.len() - 9, gz.len() - 1] {
        let sb = Sandbox::new("truncgz");
        let res = sb.unpack(gz[..cut].to_vec());
        assert!(
            matches!(res, Err(UnpackError::Format(_)) | Err(UnpackError::Io { .. })),
            "gzip cut at {cut}/{}: expected an error, got {res:?}",
            gz.len()
        );
    }
}

#[test]
fn truncated_zstd_and_tar_are_errors() {
    let layer = normal_layer();
    let zst = zstd_compress(&layer);
    for cut in [zst.len() / 2, zst.len() - 1] {
        let sb = Sandbox::new("trunczst");
        let res = sb.unpack(zst[..cut].to_vec());
        assert!(res.is_err(), "zstd cut at {cut}/{}: got {res:?}", zst.len());
    }
    // A plain tar cut inside an entry's data or header.
    for cut in [700, 1000, layer.len() / 2] {
        let sb = Sandbox::new("trunctar");
        let res = sb.unpack(layer[..cut].to_vec());
        assert!(res.is_err(), "tar cut at {cut}/{}: got {res:?}", layer.len());
    }
}

#[test]
fn bad_checksum_is_a_format_error() {
    let mut layer = RawTar::new().file("f", 0o644, b"data").finish();
    layer[0] = b'g'; // name changes, checksum no longer matches
    let sb = Sandbox::new("badsum");
    let res = sb.unpack(layer);
    assert!(matches!(res, Err(UnpackError::Format(_))), "{res:?}");
    assert!(!sb.dest.join("g").exists());
}

#[test]
fn missing_dest_is_an_io_error() {
    let sb = Sandbox::new("nodest");
    let missing = sb.base.join("does-not-exist");
    let res = unpack(
        Cursor::new(RawTar::new().file("f", 0o644, b"x").finish()),
        missing.to_str().unwrap(),
        UnpackOptions { xattr_prefix: "trusted.".into() },
    );
    assert!(matches!(res, Err(UnpackError::Io { .. })), "{res:?}");
    assert!(!missing.exists());
}

/// ncx runs under umask 077 (docs/security.md, "Privacy between users"): a directory the tar
/// does not list and a fifo still get the modes containerd gives them (0755, the tar's), not
/// the umask's, or a non-root container user could not reach /usr/local/bin.
#[test]
fn modes_do_not_depend_on_the_umask() {
    let sb = Sandbox::new("umask");
    let layer = RawTar::new().file("usr/local/bin/tool", 0o755, b"x").entry("run/fifo", b'6', 0o666, b"", "").finish();
    let old = unsafe { libc::umask(0o077) };
    let result = sb.unpack(layer);
    unsafe { libc::umask(old) };
    result.unwrap();
    for dir in ["usr", "usr/local", "usr/local/bin", "run"] {
        assert_eq!(mode_of(&sb.dest.join(dir)), 0o755, "{dir}");
    }
    assert_eq!(mode_of(&sb.dest.join("usr/local/bin/tool")), 0o755);
    assert_eq!(mode_of(&sb.dest.join("run/fifo")), 0o666);
}
