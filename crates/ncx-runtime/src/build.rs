//! `ncx build`'s file work, inside the held user namespace (see ncx_core::buildfs):
//!
//!   ncx-runtime build-list [--userns-pid PID]   (JSON on stdin)
//!       {"root": ROOT, "paths": [{"path": "/p", "follow": true, "depth": N|null}]}
//!       → {"results": [{"resolved": "/real/p", "entries": [ENTRY…]} | {"error": "…"}]}
//!   ncx-runtime build-copy [--userns-pid PID]   (JSON on stdin)
//!       {"dest": ROOT, "sources": [ROOT…], "mkdir": {"u","g","m"},
//!        "ops": [{"op": "copy", "dest": "/d/", "item": ITEM} | {"op": "untar", "dest": "/d", "file": HOSTPATH, "chown": [u, g]|null}]}
//!       → {"bytes": N}
//!   ncx-runtime build-layer --upper DIR [--work DIR] [--stubs /a,/b] [--xattr-prefix P] [--userns-pid PID] LOWER… (topmost first)
//!       → the mount points in --stubs pruned from the upper dir, the work dir removed, then
//!         the upper dir as an OCI layer tar on stdout
//!
//! A ROOT is {"spec": "host:DIR" | "dir:DIR" | "overlay:DATA", "mountpoint": DIR}: a host
//! directory (the build context), a plain directory, or an overlay mounted on `mountpoint`
//! in this process's private mount namespace (read-only without an upperdir).
//! ENTRY / ITEM entries: {"p": path, "k": "d|f|l|p|c|b|s|data", "m": mode, "u": uid, "g": gid,
//! "s": size, "mt": [sec, nsec], "l": link target, "src": source path, "data": text}.

use crate::{fail, Args};
use ncx_core::buildfs::{self, Entry, EntryKind, Item, Meta, MkdirOwner, Roots};
use ncx_core::sys::cstr;
use ncx_core::{tree, userns};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

fn join_userns(args: &Args) {
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            fail(&e.to_string(), 125);
        }
    }
}

fn read_stdin_json() -> Value {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        fail(&format!("read the request: {e}"), 125);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("invalid request: {e}"), 125))
}

/// Mounts happen in a private mount namespace of this process, made on first need.
struct Mounts {
    private: bool,
}

impl Mounts {
    fn open(&mut self, root: &Value) -> Result<OwnedFd, String> {
        let spec = root["spec"].as_str().ok_or("root without spec")?;
        if let Some(dir) = spec.strip_prefix("host:").or_else(|| spec.strip_prefix("dir:")) {
            return tree::open_dir(dir).map_err(|e| format!("open {dir}: {e}"));
        }
        if let Some(data) = spec.strip_prefix("overlay:") {
            let mp = root["mountpoint"].as_str().ok_or("overlay root without mountpoint")?;
            unsafe {
                if !self.private {
                    if libc::unshare(libc::CLONE_NEWNS) < 0 {
                        return Err(format!("unshare mount namespace: {}", std::io::Error::last_os_error()));
                    }
                    let root = cstr("/");
                    libc::mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null());
                    self.private = true;
                }
                let flags = if data.contains("upperdir=") { 0 } else { libc::MS_RDONLY };
                let (src, target, d) = (cstr("overlay"), cstr(mp), cstr(data));
                if libc::mount(src.as_ptr(), target.as_ptr(), src.as_ptr(), flags, d.as_ptr() as *const libc::c_void) < 0 {
                    return Err(format!("mount the build's file system: {}", std::io::Error::last_os_error()));
                }
            }
            return tree::open_dir(mp).map_err(|e| format!("open {mp}: {e}"));
        }
        Err(format!("invalid root {spec:?}"))
    }
}

fn entry_json(e: &buildfs::Listed) -> Value {
    let mut v = json!({ "p": e.path, "k": e.kind.to_string(), "m": e.mode, "u": e.uid, "g": e.gid, "s": e.size, "mt": [e.mtime.0, e.mtime.1] });
    if let Some(l) = &e.link {
        v["l"] = json!(l);
    }
    v
}

pub fn build_list(args: &Args) {
    join_userns(args);
    let req = read_stdin_json();
    let mut mounts = Mounts { private: false };
    let root = mounts.open(&req["root"]).unwrap_or_else(|e| fail(&e, 1));
    let mut results = Vec::new();
    for p in req["paths"].as_array().cloned().unwrap_or_default() {
        let path = p["path"].as_str().unwrap_or("/");
        let follow = p["follow"].as_bool().unwrap_or(true);
        let depth = p["depth"].as_u64().map(|d| d as u32);
        let comps = match buildfs::root_path(root.as_raw_fd(), path, follow) {
            Ok(c) => c,
            Err(e) => {
                results.push(json!({ "error": e.to_string() }));
                continue;
            }
        };
        match buildfs::list(root.as_raw_fd(), &comps, depth) {
            Ok(entries) => results.push(json!({ "resolved": format!("/{}", comps.join("/")), "entries": entries.iter().map(entry_json).collect::<Vec<_>>() })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => results.push(json!({ "error": "not found" })),
            Err(e) => results.push(json!({ "error": e.to_string() })),
        }
    }
    println!("{}", json!({ "results": results }));
}

fn meta(v: &Value) -> Meta {
    let mt = v["mt"].as_array();
    Meta {
        uid: v["u"].as_u64().unwrap_or(0) as u32,
        gid: v["g"].as_u64().unwrap_or(0) as u32,
        mode: v["m"].as_u64().unwrap_or(0o644) as u32,
        mtime: (mt.and_then(|a| a.first()).and_then(|x| x.as_i64()).unwrap_or(0), mt.and_then(|a| a.get(1)).and_then(|x| x.as_i64()).unwrap_or(0)),
    }
}

fn entry(v: &Value) -> Result<Entry, String> {
    let kind = match v["k"].as_str().unwrap_or("") {
        "d" => EntryKind::Dir,
        "f" => EntryKind::File { src: v["src"].as_str().ok_or("file entry without src")?.to_string() },
        "l" => EntryKind::Symlink { target: v["l"].as_str().unwrap_or("").to_string() },
        "p" => EntryKind::Fifo,
        "data" => EntryKind::Data { data: v["data"].as_str().unwrap_or("").as_bytes().to_vec() },
        other => return Err(format!("cannot copy an entry of kind {other:?}")),
    };
    Ok(Entry { path: v["p"].as_str().unwrap_or("").to_string(), kind, meta: meta(v) })
}

pub fn build_copy(args: &Args) {
    join_userns(args);
    // Files are created with exactly the modes asked for.
    unsafe { libc::umask(0) };
    let req = read_stdin_json();
    let mut mounts = Mounts { private: false };
    let dest = mounts.open(&req["dest"]).unwrap_or_else(|e| fail(&e, 1));
    let mut roots = Vec::new();
    for s in req["sources"].as_array().cloned().unwrap_or_default() {
        roots.push(mounts.open(&s).unwrap_or_else(|e| fail(&e, 1)));
    }
    let roots = Roots(roots);
    let mk = &req["mkdir"];
    let mkdir = MkdirOwner { uid: mk["u"].as_u64().unwrap_or(0) as u32, gid: mk["g"].as_u64().unwrap_or(0) as u32, mode: mk["m"].as_u64().unwrap_or(0o755) as u32 };
    let mut bytes = 0u64;
    for op in req["ops"].as_array().cloned().unwrap_or_default() {
        let to = op["dest"].as_str().unwrap_or("/");
        let result = match op["op"].as_str() {
            Some("copy") => {
                let it = &op["item"];
                let children: Result<Vec<Entry>, String> = it["children"].as_array().cloned().unwrap_or_default().iter().map(entry).collect();
                let item = entry(&it["top"]).and_then(|top| Ok(Item { source: it["source"].as_u64().unwrap_or(0) as usize, base: it["base"].as_str().unwrap_or("").to_string(), top, children: children? }));
                match item {
                    Ok(item) => buildfs::copy_item(dest.as_raw_fd(), to, &item, mkdir, &roots, &mut HashMap::new()).map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                }
            }
            Some("untar") => {
                let file = op["file"].as_str().unwrap_or("");
                let chown = op["chown"].as_array().map(|a| (a[0].as_u64().unwrap_or(0) as u32, a[1].as_u64().unwrap_or(0) as u32));
                match std::fs::File::open(file).and_then(ncx_core::unpack::decompressed) {
                    Ok(r) => buildfs::untar(dest.as_raw_fd(), to, r, chown, mkdir).map_err(|e| format!("unpack {}: {e}", op["name"].as_str().unwrap_or(file))),
                    Err(e) => Err(format!("open {file}: {e}")),
                }
            }
            Some("mkdir") => {
                let m = &op["owner"];
                let owner = MkdirOwner { uid: m["u"].as_u64().unwrap_or(0) as u32, gid: m["g"].as_u64().unwrap_or(0) as u32, mode: m["m"].as_u64().unwrap_or(0o755) as u32 };
                buildfs::root_path(dest.as_raw_fd(), to, true).and_then(|c| buildfs::mkdir_all(dest.as_raw_fd(), &c, owner)).map(|_| 0).map_err(|e| e.to_string())
            }
            Some("chown") => {
                // Owner and mode of an existing path (a new cache mount's directory).
                let m = &op["owner"];
                let comps = buildfs::clean_components(to);
                let fd = ncx_core::unpack::open_in_root(dest.as_raw_fd(), &comps.join("/"), libc::O_RDONLY | libc::O_NOFOLLOW);
                fd.and_then(|fd| unsafe {
                    if libc::fchown(fd.as_raw_fd(), m["u"].as_u64().unwrap_or(0) as u32, m["g"].as_u64().unwrap_or(0) as u32) < 0 || libc::fchmod(fd.as_raw_fd(), m["m"].as_u64().unwrap_or(0o755) as u32) < 0 {
                        Err(std::io::Error::last_os_error())
                    } else {
                        Ok(0)
                    }
                })
                .map_err(|e| e.to_string())
            }
            other => Err(format!("unknown copy operation {other:?}")),
        };
        match result {
            Ok(n) => bytes += n,
            Err(e) => fail(&e, 1),
        }
    }
    println!("{}", json!({ "bytes": bytes }));
}

pub fn build_layer(args: &Args) {
    join_userns(args);
    let prefix = args.get("xattr-prefix").unwrap_or("trusted.").to_string();
    let upper_path = args.require("upper");
    let upper = tree::open_dir(upper_path).unwrap_or_else(|e| fail(&format!("open {upper_path}: {e}"), 1));
    if let Some(work) = args.get("work") {
        if let Err(e) = std::fs::remove_dir_all(work) {
            if e.kind() != std::io::ErrorKind::NotFound {
                fail(&format!("remove {work}: {e}"), 1);
            }
        }
    }
    let stubs: Vec<String> = args.get("stubs").unwrap_or("").split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    if !stubs.is_empty() {
        let lowers: Vec<OwnedFd> = args.words.iter().map(|l| tree::open_dir(l).unwrap_or_else(|e| fail(&format!("open layer {l}: {e}"), 1))).collect();
        if let Err(e) = buildfs::prune_stubs(upper.as_raw_fd(), &lowers, &stubs, &prefix) {
            fail(&format!("clean the layer's mount points: {e}"), 1);
        }
    }
    let out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut w = tree::TarWriter::new(out, tree::TarOptions { oci_whiteouts: true, xattr_prefix: prefix, exclude_empty: vec![] });
    let result = w.add_children(upper.as_raw_fd(), b"").and_then(|_| w.finish()).and_then(|mut o| o.flush());
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        fail(&format!("write the layer: {e}"), 1);
    }
}
