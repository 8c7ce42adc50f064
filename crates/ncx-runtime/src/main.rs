//! ncx-runtime: the single-threaded native half of ncx. It joins the held user namespace,
//! unpacks layers, and runs OCI bundles. It knows nothing of images, names or compose.
//!
//!   ncx-runtime run --bundle DIR [--userns-pid PID] [--rootfs-mount TYPE:DATA] [--status-fd N] [--no-stdin] [--cleanup DIR]
//!   ncx-runtime userns-init --uid-map C:H:N[,…] --gid-map C:H:N[,…] [--no-helpers] [--adopt PID --inode N]
//!   ncx-runtime unpack --dest DIR --file LAYER|- [--userns-pid PID] [--xattr-prefix user.]
//!   ncx-runtime rmtree [--userns-pid PID] PATH…         (directories with their contents, or files)
//!   ncx-runtime materialize --dest DIR [--userns-pid PID] [--xattr-prefix user.] LAYER… (lowest first)
//!   ncx-runtime probe-overlay --dir DIR [--userns-pid PID] [--userxattr]
//!   ncx-runtime monitor --bundle DIR …          (see monitor/: a detached container's monitor)
//!   ncx-runtime attach --bundle DIR …           (see attach.rs: attach to a monitor)
//!   ncx-runtime exec --pid PID --process JSON|--process-fd N … (see exec.rs)
//!   ncx-runtime stop|ps --pid PID …              (see ctl.rs)
//!   ncx-runtime layer-diff|layer-tar|export|cp … (see layer.rs: a container's files)
//!   ncx-runtime netns-init|nsexec …              (see net/: the per-user network namespace)
//!   ncx-runtime build-list|build-copy|build-layer (see build.rs: `ncx build`'s file work)
//!   ncx-runtime init|probe --state-fd N          (a container's PID 1, a health probe: re-executed
//!                                                 from a sealed copy, see sealed.rs; not for callers)

mod attach;
mod build;
mod cli;
mod bypass;
mod cgroup;
mod ownns;
mod ctl;
mod events;
mod exec;
mod fdpass;
mod foreground;
mod external;
mod layer;
mod monitor;
mod net;
mod oci;
mod run;
mod relay;
mod sealed;
mod signals;
mod status;
mod supervise;
mod sys;

use ncx_core::{materialize, unpack, userns};
use std::io::Write;

pub use cli::Args;

/// Print one JSON error line on stderr and exit.
pub fn fail(msg: &str, code: i32) -> ! {
    fail_with_errno(msg, code, None)
}

/// `fail`, with the errno of the failed system call in the line (`"errno": 28`) when known.
pub fn fail_with_errno(msg: &str, code: i32, errno: Option<i32>) -> ! {
    let line = match errno {
        Some(n) => serde_json::json!({ "error": msg, "code": code, "errno": n }),
        None => serde_json::json!({ "error": msg, "code": code }),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
    std::process::exit(code)
}

fn join_userns(args: &Args) {
    if let Some(pid) = args.userns_pid() {
        if let Err(e) = userns::join(pid) {
            fail(&e.to_string(), 125);
        }
    }
}

/// glibc's posix_spawn (the CLI starts the runtime with it, see crates/ncx-napi/src/spawn.rs)
/// leaves glibc's two internal signals (32, 33) ignored in the new program, and an ignored
/// disposition survives exec: reset them, so containers' processes start with every signal at
/// its default. Raw rt_sigaction: glibc's sigaction refuses these numbers. A kernel sigaction
/// of all zeros is SIG_DFL; only the handler (the first word) of the old one is read.
fn reset_internal_signals() {
    for sig in [32, 33] {
        let mut old = [0u64; 4];
        let dfl = [0u64; 4];
        // SAFETY: both buffers are at least the kernel's struct sigaction; sigsetsize 8.
        unsafe {
            if libc::syscall(libc::SYS_rt_sigaction, sig, std::ptr::null::<u64>(), old.as_mut_ptr(), 8) == 0 && old[0] == libc::SIG_IGN as u64 {
                libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), 8);
            }
        }
    }
}

/// Whatever descriptors the caller left open (a shell's `exec 100<DIR`, Node's own, an IDE's)
/// are not ours to pass on: closed first thing, so no process this runtime starts (a
/// container's, a monitor, slirp4netns) inherits them. The fds the CLI hands over stay,
/// close-on-exec, for this process alone: the status fd (`--status-fd N`), the pipe
/// `exec`'s process JSON comes through (`--process-fd N`) and the terminal sizes' pipe of
/// `attach` and `exec` (`--resize-fd N`).
fn close_inherited_fds(argv: &[String]) {
    let given = |flag: &str| argv.windows(2).find(|w| w[0] == flag).and_then(|w| w[1].parse::<i32>().ok()).filter(|fd| *fd > 2);
    let keep: Vec<i32> = [given("--status-fd"), given("--process-fd"), given("--resize-fd")].into_iter().flatten().collect();
    ncx_core::sys::close_fds_except(&keep);
    for fd in keep {
        ncx_core::sys::set_cloexec(fd, true);
    }
}

/// A failure before the command runs: on the status fd when there is one (the CLI reads
/// `exec`'s errors there), else as `fail` does.
fn fail_early(argv: &[String], msg: &str) -> ! {
    if let Some(fd) = argv.windows(2).find(|w| w[0] == "--status-fd").and_then(|w| w[1].parse::<i32>().ok()) {
        let line = format!("{}\n", serde_json::json!({ "event": "error", "code": 125, "message": msg }));
        unsafe { libc::write(fd, line.as_ptr() as *const libc::c_void, line.len()) };
        std::process::exit(125);
    }
    fail(msg, 125)
}

/// ncx's own umask (docs/security.md, "Privacy between users"): what the runtime, a monitor
/// or the network supervisor write into the store (state, logs, events, sockets) is for the
/// user alone, whoever started it. A container's process gets its own umask back
/// (run.rs `exec_process`).
pub const PRIVATE_UMASK: libc::mode_t = 0o077;

fn main() {
    unsafe { libc::umask(PRIVATE_UMASK) };
    sealed::note_host_exe();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let cmd = argv.first().cloned().unwrap_or_default();
    // `exec` enters a container: from a sealed copy of this program (sealed.rs), made before
    // anything else. `init` and `probe` are such copies already, with their fds to keep.
    if cmd == "exec" && !sealed::running_sealed() {
        let all: Vec<String> = std::env::args().collect();
        fail_early(&argv, &sealed::reexec(&all, &[]));
    }
    let standard = oci::is_standard(&argv);
    // The standard `exec` (`ncx-runtime [--root R] exec …`) enters a container too: the same
    // sealed copy, with the fds `--preserve-fds` passes on.
    if standard && oci::subcommand(&argv) == Some("exec") && !sealed::running_sealed() {
        let all: Vec<String> = std::env::args().collect();
        fail(&sealed::reexec(&all, &oci::preserved_fds(&argv)), 125);
    }
    if standard {
        let keep = oci::preserved_fds(&argv);
        ncx_core::sys::close_fds_except(&keep);
    } else if cmd != "init" && cmd != "probe" {
        close_inherited_fds(&argv);
    }
    reset_internal_signals();
    if standard {
        std::process::exit(oci::main(&argv));
    }
    if cmd.is_empty() {
        fail("usage: ncx-runtime run|userns-init|unpack|rmtree|version", 125)
    }
    let Some(grammar) = cli::private(&cmd) else {
        if cmd == "--version" {
            cli::out(format!("ncx-runtime {}", env!("CARGO_PKG_VERSION")));
            return;
        }
        fail(&format!("unknown command {cmd:?}"), 125)
    };
    let args = cli::parse(grammar, &argv[1..]).unwrap_or_else(|e| fail_early(&argv, &e));
    match cmd.as_str() {
        "init" => run::init(&args),
        "probe" => monitor::probe(&args),
        "run" => std::process::exit(foreground::main(&args)),
        "monitor" => std::process::exit(monitor::monitor(&args)),
        "attach" => std::process::exit(attach::attach(&args)),
        "netns-init" => std::process::exit(net::netns_init(&args)),
        "nsexec" => std::process::exit(net::nsexec(&args)),
        "net-attach" => std::process::exit(net::net_attach(&args)),
        "exec" => std::process::exit(exec::exec(&args)),
        "stop" => match ctl::stop(&args) {
            Ok(killed) => cli::out(serde_json::json!({ "killed": killed })),
            Err(e) => fail(&e.message, e.code),
        },
        // `cgroup-update --dir D --resources JSON`: write OCI resources as cgroup v2 files (ncx update).
        "cgroup-update" => {
            let r: ncx_core::spec::Resources =
                serde_json::from_str(args.require("resources")).unwrap_or_else(|e| fail(&format!("invalid --resources: {e}"), 125));
            if let Err(e) = ncx_core::cgroup::write_limits(&mut ncx_core::cgroup::RealFs, args.require("dir"), &r) {
                fail(&e.to_string(), 125);
            }
        }
        "ps" => match ctl::ps(&args) {
            Ok(v) => cli::out(v),
            Err(e) => fail(&e.message, e.code),
        },
        "userns-init" => {
            let uid = userns::parse_maps(args.require("uid-map")).unwrap_or_else(|e| fail(&e.to_string(), 125));
            let gid = userns::parse_maps(args.require("gid-map")).unwrap_or_else(|e| fail(&e.to_string(), 125));
            // `--adopt PID --inode N`: hold the namespace PID runs in (the old holder's, inode N).
            let held = match args.get("adopt") {
                Some(p) => {
                    let pid = p.parse().unwrap_or_else(|_| fail(&format!("invalid --adopt {p:?}"), 125));
                    let inode = args.require("inode").parse().unwrap_or_else(|_| fail("invalid --inode", 125));
                    userns::adopt(pid, inode, &uid, &gid)
                }
                None => userns::create_holder(&uid, &gid, !args.has("--no-helpers")),
            };
            match held {
                Ok(pid) => cli::out(pid),
                Err(e) => fail(&e.to_string(), 125),
            }
        }
        "unpack" => {
            join_userns(&args);
            let dest = args.require("dest");
            let file = args.require("file");
            // `--file -` streams the layer from stdin (pulls unpack while they download).
            let input: Box<dyn std::io::Read> = if file == "-" {
                Box::new(std::io::stdin())
            } else {
                Box::new(std::fs::File::open(file).unwrap_or_else(|e| fail(&format!("open {file}: {e}"), 125)))
            };
            let opts = unpack::UnpackOptions { xattr_prefix: args.get("xattr-prefix").unwrap_or("trusted.").to_string() };
            match unpack::unpack(input, dest, opts) {
                Ok(r) => println!(
                    "{}",
                    serde_json::json!({
                        "diffId": r.diff_id, "size": r.size, "entries": r.entries,
                        "skippedDevices": r.skipped_devices, "unmappedOwners": r.unmapped_owners
                    })
                ),
                // The errno (28: ENOSPC) lets the engine name the cause and the file system.
                Err(e) => fail_with_errno(&e.to_string(), 1, e.raw_os_error()),
            }
        }
        "rmtree" => {
            join_userns(&args);
            for p in &args.words {
                // `rm -rf`: a directory with everything in it, or a single file (a build's secret file).
                let is_dir = std::fs::symlink_metadata(p).map(|m| m.is_dir()).unwrap_or(true);
                let removed = if is_dir { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
                match removed {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => fail(&format!("remove {p}: {e}"), 1),
                }
            }
        }
        "materialize" => {
            join_userns(&args);
            let dest = std::path::Path::new(args.require("dest"));
            let prefix = args.get("xattr-prefix").unwrap_or("trusted.");
            if let Err(e) = materialize::materialize(&args.words, dest, prefix) {
                fail(&e.to_string(), 1);
            }
        }
        "probe-overlay" => {
            join_userns(&args);
            cli::out(probe_overlay(args.require("dir"), args.has("--userxattr")));
        }
        "layer-diff" => layer::layer_diff(&args),
        "layer-tar" => layer::layer_tar(&args),
        "export" => layer::export(&args),
        "cp" => layer::cp(&args),
        "copy-up" => layer::copy_up(&args),
        "shift-layer" => layer::shift_layer(&args),
        "du" => layer::du(&args),
        "build-list" => build::build_list(&args),
        "build-copy" => build::build_copy(&args),
        "build-layer" => build::build_layer(&args),
        "version" | "--version" => cli::out(format!("ncx-runtime {}", env!("CARGO_PKG_VERSION"))),
        other => fail(&format!("unknown command {other:?}"), 125),
    }
}

/// Can overlayfs be mounted here (in our user namespace, on this file system)?
fn probe_overlay(dir: &str, userxattr: bool) -> serde_json::Value {
    let base = std::path::Path::new(dir);
    for sub in ["l", "u", "w", "m"] {
        if let Err(e) = std::fs::create_dir_all(base.join(sub)) {
            return serde_json::json!({ "overlay": false, "error": format!("create {dir}/{sub}: {e}") });
        }
    }
    let result = unsafe {
        if libc::unshare(libc::CLONE_NEWNS) < 0 {
            Err(format!("unshare mount namespace: {}", std::io::Error::last_os_error()))
        } else {
            let data = format!("lowerdir={dir}/l,upperdir={dir}/u,workdir={dir}/w{}", if userxattr { ",userxattr" } else { "" });
            let (src, target, data) = (ncx_core::sys::cstr("overlay"), ncx_core::sys::cstr(&format!("{dir}/m")), ncx_core::sys::cstr(&data));
            if libc::mount(src.as_ptr(), target.as_ptr(), src.as_ptr(), 0, data.as_ptr() as *const libc::c_void) < 0 {
                Err(format!("mount overlay: {}", std::io::Error::last_os_error()))
            } else {
                libc::umount2(target.as_ptr(), libc::MNT_DETACH);
                Ok(())
            }
        }
    };
    let _ = std::fs::remove_dir_all(base);
    match result {
        Ok(()) => serde_json::json!({ "overlay": true }),
        Err(e) => serde_json::json!({ "overlay": false, "error": e }),
    }
}
