//! The `copy` storage fallback: apply unpacked layers (overlayfs format: 0:0 character
//! device whiteouts, `overlay.opaque` xattrs) one over the other into a plain directory,
//! for kernels or file systems where overlayfs cannot be mounted in a user namespace.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

#[derive(Debug)]
pub struct MaterializeError {
    pub path: String,
    pub err: io::Error,
}

impl std::fmt::Display for MaterializeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "copy layer content {}: {}", self.path, self.err)
    }
}

impl std::error::Error for MaterializeError {}

fn at(path: &Path) -> impl FnOnce(io::Error) -> MaterializeError + '_ {
    move |err| MaterializeError { path: path.display().to_string(), err }
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_else(|_| CString::new("/").unwrap())
}

fn is_opaque(dir: &Path, prefix: &str) -> bool {
    let key = CString::new(format!("{prefix}overlay.opaque")).unwrap();
    let mut buf = [0u8; 4];
    let n = unsafe { libc::lgetxattr(cpath(dir).as_ptr(), key.as_ptr(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    n == 1 && buf[0] == b'y'
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn own(path: &Path, meta: &fs::Metadata) {
    // Ids outside the namespace's mapping cannot be set; the copy keeps ours then.
    unsafe { libc::lchown(cpath(path).as_ptr(), meta.uid(), meta.gid()) };
}

/// Apply the layer directory `src` onto `dest`. Every directory under `dest` is one this
/// function created (a symlink there is replaced, never followed), so nothing leaves `dest`.
pub fn apply_layer(src: &Path, dest: &Path, xattr_prefix: &str) -> Result<(), MaterializeError> {
    for entry in fs::read_dir(src).map_err(at(src))? {
        let entry = entry.map_err(at(src))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let meta = fs::symlink_metadata(&from).map_err(at(&from))?;
        let ft = meta.file_type();
        if ft.is_char_device() && meta.rdev() == 0 {
            remove_any(&to).map_err(at(&to))?; // whiteout
            continue;
        }
        if ft.is_dir() {
            let existing = fs::symlink_metadata(&to).ok();
            if existing.as_ref().map(|m| !m.is_dir()).unwrap_or(false) || (existing.is_some() && is_opaque(&from, xattr_prefix)) {
                remove_any(&to).map_err(at(&to))?;
            }
            if fs::symlink_metadata(&to).is_err() {
                fs::create_dir(&to).map_err(at(&to))?;
            }
            own(&to, &meta);
            fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777)).map_err(at(&to))?;
            apply_layer(&from, &to, xattr_prefix)?;
            continue;
        }
        remove_any(&to).map_err(at(&to))?;
        if ft.is_symlink() {
            let target = fs::read_link(&from).map_err(at(&from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(at(&to))?;
            own(&to, &meta);
        } else if ft.is_file() {
            fs::copy(&from, &to).map_err(at(&to))?;
            own(&to, &meta);
            fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777)).map_err(at(&to))?;
        } else {
            // fifo / device: recreate; devices fail inside a user namespace and are skipped.
            if unsafe { libc::mknod(cpath(&to).as_ptr(), meta.mode(), meta.rdev()) } == 0 {
                own(&to, &meta);
                let _ = fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777)); // not the umask's
            }
        }
    }
    Ok(())
}

/// Build `dest` from `layers`, lowest first.
pub fn materialize(layers: &[String], dest: &Path, xattr_prefix: &str) -> Result<(), MaterializeError> {
    for layer in layers {
        apply_layer(Path::new(layer), dest, xattr_prefix)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("ncx-mat-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn upper_layers_replace_and_delete() {
        let base = tmp("base");
        let (l1, l2, out) = (base.join("l1"), base.join("l2"), base.join("out"));
        for d in [&l1, &l2, &out] {
            fs::create_dir_all(d).unwrap();
        }
        fs::create_dir_all(l1.join("data/dir")).unwrap();
        fs::write(l1.join("data/a.txt"), "a").unwrap();
        fs::write(l1.join("data/dir/old.txt"), "old").unwrap();
        std::os::unix::fs::symlink("/etc", l1.join("link")).unwrap();
        fs::create_dir_all(l2.join("link")).unwrap(); // a dir replaces the symlink
        fs::write(l2.join("link/inside"), "x").unwrap();
        fs::create_dir_all(l2.join("data")).unwrap();
        fs::write(l2.join("data/b.txt"), "b").unwrap();
        let layers = vec![l1.display().to_string(), l2.display().to_string()];
        materialize(&layers, &out, "user.").unwrap();
        assert_eq!(fs::read_to_string(out.join("data/a.txt")).unwrap(), "a");
        assert_eq!(fs::read_to_string(out.join("data/b.txt")).unwrap(), "b");
        assert!(fs::symlink_metadata(out.join("link")).unwrap().is_dir());
        assert!(!Path::new("/etc/inside").exists());
        assert_eq!(fs::read_to_string(out.join("link/inside")).unwrap(), "x");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn whiteouts_remove_lower_entries_as_root() {
        if unsafe { libc::geteuid() } != 0 {
            // mknod 0:0 needs root (or a user namespace); the walk itself is covered above.
            assert!(remove_any(Path::new("/nonexistent-ncx-path")).is_ok());
            return;
        }
        let base = tmp("wh");
        let (l1, l2, out) = (base.join("l1"), base.join("l2"), base.join("out"));
        for d in [&l1, &l2, &out] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(l1.join("gone"), "x").unwrap();
        fs::create_dir_all(l1.join("opq")).unwrap();
        fs::write(l1.join("opq/hidden"), "x").unwrap();
        let c = cpath(&l2.join("gone"));
        assert_eq!(unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, 0) }, 0);
        fs::create_dir_all(l2.join("opq")).unwrap();
        fs::write(l2.join("opq/kept"), "y").unwrap();
        let key = CString::new("trusted.overlay.opaque").unwrap();
        let rc = unsafe { libc::lsetxattr(cpath(&l2.join("opq")).as_ptr(), key.as_ptr(), b"y".as_ptr() as *const libc::c_void, 1, 0) };
        assert_eq!(rc, 0);
        materialize(&[l1.display().to_string(), l2.display().to_string()], &out, "trusted.").unwrap();
        assert!(!out.join("gone").exists());
        assert!(!out.join("opq/hidden").exists());
        assert!(out.join("opq/kept").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
