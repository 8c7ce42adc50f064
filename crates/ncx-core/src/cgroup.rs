//! cgroup v2 for one container: the limit files for OCI `linux.resources` (runc's conversion),
//! creating the container's cgroup below a delegated subtree (controllers enabled on the way
//! down, respecting the no-internal-processes rule), statistics files, freeze and kill.
//! File operations go through [`CgroupFs`], so the rules are unit-tested with a fake.

use crate::spec::Resources;

pub const ROOT: &str = "/sys/fs/cgroup";

/// Why a cgroup operation failed: the file and the OS error.
#[derive(Debug)]
pub struct CgroupError {
    pub op: &'static str,
    pub path: String,
    pub err: std::io::Error,
}

impl std::fmt::Display for CgroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cgroup: {} {}: {}", self.op, self.path, self.err)
    }
}

impl std::error::Error for CgroupError {}

pub type CgroupResult<T> = Result<T, CgroupError>;

/// The file operations on cgroupfs.
pub trait CgroupFs {
    fn read(&mut self, path: &str) -> std::io::Result<String>;
    fn write(&mut self, path: &str, value: &str) -> std::io::Result<()>;
    fn mkdir(&mut self, path: &str) -> std::io::Result<()>;
    fn rmdir(&mut self, path: &str) -> std::io::Result<()>;
    fn exists(&mut self, path: &str) -> bool;
    fn writable(&mut self, path: &str) -> bool;
}

pub struct RealFs;

impl CgroupFs for RealFs {
    fn read(&mut self, path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn write(&mut self, path: &str, value: &str) -> std::io::Result<()> {
        use std::io::Write;
        // One write(2) per value: cgroupfs parses each write separately.
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(value.as_bytes())
    }
    fn mkdir(&mut self, path: &str) -> std::io::Result<()> {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            r => r,
        }
    }
    fn rmdir(&mut self, path: &str) -> std::io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn exists(&mut self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }
    fn writable(&mut self, path: &str) -> bool {
        let c = crate::sys::cstr(path);
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    }
}

/// runc's cpu.shares → cpu.weight conversion ([2, 262144] → [1, 10000]).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 100;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// blkio weight [10, 1000] → io.weight [1, 10000] (runc).
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    1 + (weight.clamp(10, 1000) as u64 - 10) * 9999 / 990
}

/// The cgroup v2 files (name, value) for `r`, in the order they are written.
pub fn files(r: &Resources) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| out.push((k.to_string(), v));
    if let Some(m) = &r.memory {
        if let Some(l) = m.limit {
            put("memory.max", if l < 0 { "max".into() } else { l.to_string() });
        }
        if let Some(res) = m.reservation {
            put("memory.low", if res < 0 { "max".into() } else { res.to_string() });
        }
        // OCI swap is memory + swap; cgroup v2 has swap alone.
        match (m.swap, m.limit) {
            (Some(s), _) if s < 0 => put("memory.swap.max", "max".into()),
            (Some(s), Some(l)) if l >= 0 => put("memory.swap.max", (s - l).max(0).to_string()),
            _ => {}
        }
    }
    if let Some(c) = &r.cpu {
        if let Some(s) = c.shares {
            put("cpu.weight", shares_to_weight(s).to_string());
        }
        if c.quota.is_some() || c.period.is_some() {
            let quota = match c.quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".into(),
            };
            put("cpu.max", format!("{quota} {}", c.period.unwrap_or(100_000)));
        }
        if !c.cpus.is_empty() {
            put("cpuset.cpus", c.cpus.clone());
        }
        if !c.mems.is_empty() {
            put("cpuset.mems", c.mems.clone());
        }
    }
    if let Some(p) = &r.pids {
        put("pids.max", if p.limit <= 0 { "max".into() } else { p.limit.to_string() });
    }
    if let Some(b) = &r.block_io {
        if let Some(w) = b.weight.filter(|w| *w > 0) {
            put("io.weight", format!("default {}", blkio_to_io_weight(w)));
        }
        let mut devs: Vec<(String, Vec<String>)> = Vec::new();
        for (list, key) in [(&b.throttle_read_bps_device, "rbps"), (&b.throttle_write_bps_device, "wbps"), (&b.throttle_read_iops_device, "riops"), (&b.throttle_write_iops_device, "wiops")] {
            for d in list {
                let dev = format!("{}:{}", d.major, d.minor);
                let entry = format!("{key}={}", d.rate);
                match devs.iter_mut().find(|(k, _)| *k == dev) {
                    Some((_, v)) => v.push(entry),
                    None => devs.push((dev, vec![entry])),
                }
            }
        }
        for (dev, parts) in devs {
            put("io.max", format!("{dev} {}", parts.join(" ")));
        }
    }
    for h in &r.hugepage_limits {
        put(&format!("hugetlb.{}.max", h.page_size), h.limit.to_string());
    }
    for (k, v) in &r.unified {
        put(k, v.clone());
    }
    out
}

/// The controllers a set of files needs (`memory.max` → `memory`).
pub fn controllers_for(files: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (k, _) in files {
        let c = k.split('.').next().unwrap_or("").to_string();
        if !c.is_empty() && c != "cgroup" && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

fn err(op: &'static str, path: &str, e: std::io::Error) -> CgroupError {
    CgroupError { op, path: path.to_string(), err: e }
}

/// Absolute directory of a cgroup path (`/user.slice/x` → `/sys/fs/cgroup/user.slice/x`).
pub fn dir(path: &str) -> String {
    format!("{ROOT}/{}", path.trim_start_matches('/'))
}

/// Controllers that stats and limits use, enabled on the way down when available.
pub const WANTED: [&str; 6] = ["cpu", "memory", "pids", "io", "cpuset", "hugetlb"];

/// Create the container's cgroup `path` (relative to the cgroup2 root) and write its limits.
///
/// Walks from the topmost ancestor whose `cgroup.subtree_control` we may write (the delegated
/// subtree) down to the parent of `path`, creating missing directories and enabling the
/// available controllers in each. A delegated cgroup that still holds processes (the user's
/// shell, moved there by whoever delegated it) cannot enable controllers for its children:
/// its processes move to a leaf `ncx-leaf` first, as systemd keeps its own in `init.scope`.
pub fn create(fs: &mut dyn CgroupFs, path: &str, resources: Option<&Resources>) -> CgroupResult<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Err(err("create", path, std::io::Error::from_raw_os_error(libc::EINVAL)));
    }
    let mut top = None;
    for i in 0..parts.len() {
        let d = dir(&parts[..i].join("/"));
        if fs.exists(&d) && fs.writable(&format!("{d}/cgroup.subtree_control")) {
            top = Some(i);
            break;
        }
    }
    let Some(top) = top else {
        return Err(err("find a delegated parent of", &dir(path), std::io::Error::from_raw_os_error(libc::EACCES)));
    };
    for i in top..parts.len() {
        let d = dir(&parts[..i].join("/"));
        if i > top {
            fs.mkdir(&d).map_err(|e| err("mkdir", &d, e))?;
        }
        let available = fs.read(&format!("{d}/cgroup.controllers")).unwrap_or_default();
        let enabled = fs.read(&format!("{d}/cgroup.subtree_control")).unwrap_or_default();
        let missing: Vec<&str> = WANTED
            .iter()
            .copied()
            .filter(|c| available.split_whitespace().any(|a| a == *c) && !enabled.split_whitespace().any(|a| a == *c))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let value = missing.iter().map(|c| format!("+{c}")).collect::<Vec<_>>().join(" ");
        let ctl = format!("{d}/cgroup.subtree_control");
        match fs.write(&ctl, &value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                move_to_leaf(fs, &d)?;
                fs.write(&ctl, &value).map_err(|e| err("enable controllers in", &ctl, e))?;
            }
            // A controller may be refused (cpuset without cpus); enable the others one by one.
            Err(_) => {
                for c in &missing {
                    let _ = fs.write(&ctl, &format!("+{c}"));
                }
            }
        }
    }
    let d = dir(path);
    fs.mkdir(&d).map_err(|e| err("mkdir", &d, e))?;
    if let Some(r) = resources {
        write_limits(fs, &d, r)?;
    }
    Ok(d)
}

/// Move every process of `d` into `d/ncx-leaf` (no-internal-processes rule).
fn move_to_leaf(fs: &mut dyn CgroupFs, d: &str) -> CgroupResult<()> {
    let leaf = format!("{d}/ncx-leaf");
    fs.mkdir(&leaf).map_err(|e| err("mkdir", &leaf, e))?;
    let procs = fs.read(&format!("{d}/cgroup.procs")).unwrap_or_default();
    for pid in procs.split_whitespace() {
        // A process may have exited meanwhile.
        let _ = fs.write(&format!("{leaf}/cgroup.procs"), pid);
    }
    Ok(())
}

/// Write the limit files of `r` into the cgroup directory `d`.
pub fn write_limits(fs: &mut dyn CgroupFs, d: &str, r: &Resources) -> CgroupResult<()> {
    for (k, v) in files(r) {
        let p = format!("{d}/{k}");
        fs.write(&p, &v).map_err(|e| err("write", &p, e))?;
    }
    Ok(())
}

/// The `oom_kill` count of memory.events (0 without the memory controller).
pub fn oom_kills(fs: &mut dyn CgroupFs, d: &str) -> u64 {
    let text = fs.read(&format!("{d}/memory.events")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill ").and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

/// Kill whatever is left in the cgroup and remove it (retrying while the kernel reaps).
pub fn destroy(fs: &mut dyn CgroupFs, d: &str) -> CgroupResult<()> {
    if !fs.exists(d) {
        return Ok(());
    }
    let _ = fs.write(&format!("{d}/cgroup.freeze"), "0");
    let _ = fs.write(&format!("{d}/cgroup.kill"), "1");
    let mut last = None;
    for _ in 0..100 {
        match fs.rmdir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(err("rmdir", d, last.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::EBUSY))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{BlockIoResources, HugepageLimit, CpuResources, MemoryResources, PidsResources, ThrottleDevice};
    use std::collections::HashMap;

    #[derive(Default)]
    struct FakeFs {
        files: HashMap<String, String>,
        writable: Vec<String>,
        busy: Vec<String>,
        log: Vec<String>,
    }

    impl CgroupFs for FakeFs {
        fn read(&mut self, path: &str) -> std::io::Result<String> {
            self.files.get(path).cloned().ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENOENT))
        }
        fn write(&mut self, path: &str, value: &str) -> std::io::Result<()> {
            if let Some(i) = self.busy.iter().position(|b| b == path) {
                self.busy.remove(i);
                return Err(std::io::Error::from_raw_os_error(libc::EBUSY));
            }
            self.log.push(format!("write {path} {value}"));
            Ok(())
        }
        fn mkdir(&mut self, path: &str) -> std::io::Result<()> {
            self.log.push(format!("mkdir {path}"));
            Ok(())
        }
        fn rmdir(&mut self, path: &str) -> std::io::Result<()> {
            self.log.push(format!("rmdir {path}"));
            Ok(())
        }
        fn exists(&mut self, path: &str) -> bool {
            self.files.keys().any(|k| k.starts_with(&format!("{path}/")))
        }
        fn writable(&mut self, path: &str) -> bool {
            self.writable.iter().any(|w| w == path)
        }
    }

    #[test]
    fn docker_limits_become_cgroup_v2_files() {
        let r = Resources {
            memory: Some(MemoryResources { limit: Some(256 << 20), swap: Some(512 << 20), reservation: Some(128 << 20), disable_oom_killer: None }),
            cpu: Some(CpuResources { shares: Some(1024), quota: Some(50_000), period: Some(100_000), cpus: "0-1".into(), mems: String::new() }),
            pids: Some(PidsResources { limit: 100 }),
            block_io: Some(BlockIoResources {
                weight: Some(500),
                throttle_read_bps_device: vec![ThrottleDevice { major: 8, minor: 0, rate: 1048576 }],
                throttle_write_bps_device: vec![ThrottleDevice { major: 8, minor: 0, rate: 2097152 }],
                throttle_read_iops_device: vec![ThrottleDevice { major: 8, minor: 0, rate: 100 }],
                throttle_write_iops_device: vec![ThrottleDevice { major: 8, minor: 16, rate: 50 }],
            }),
            hugepage_limits: vec![HugepageLimit { page_size: "2MB".into(), limit: 2 << 30 }],
            devices: vec![],
            unified: Default::default(),
        };
        let f = files(&r);
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("memory.max"), Some("268435456"));
        assert_eq!(get("memory.swap.max"), Some("268435456"));
        assert_eq!(get("memory.low"), Some("134217728"));
        assert_eq!(get("cpu.weight"), Some("39"));
        assert_eq!(get("cpu.max"), Some("50000 100000"));
        assert_eq!(get("cpuset.cpus"), Some("0-1"));
        assert_eq!(get("pids.max"), Some("100"));
        assert_eq!(get("io.weight"), Some("default 4950"));
        assert_eq!(get("io.max"), Some("8:0 rbps=1048576 wbps=2097152 riops=100"));
        assert_eq!(f.iter().filter(|(n, _)| n == "io.max").map(|(_, v)| v.as_str()).collect::<Vec<_>>(), vec!["8:0 rbps=1048576 wbps=2097152 riops=100", "8:16 wiops=50"]);
        assert_eq!(get("hugetlb.2MB.max"), Some("2147483648"));
        assert_eq!(controllers_for(&f), vec!["memory", "cpu", "cpuset", "pids", "io", "hugetlb"]);
    }

    #[test]
    fn unlimited_values_are_max() {
        let r = Resources {
            memory: Some(MemoryResources { limit: Some(1 << 30), swap: Some(-1), ..Default::default() }),
            pids: Some(PidsResources { limit: -1 }),
            cpu: Some(CpuResources { quota: Some(-1), ..Default::default() }),
            ..Default::default()
        };
        let f = files(&r);
        assert!(f.contains(&("memory.swap.max".into(), "max".into())));
        assert!(f.contains(&("pids.max".into(), "max".into())));
        assert!(f.contains(&("cpu.max".into(), "max 100000".into())));
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn create_enables_controllers_from_the_delegated_cgroup_down_and_moves_its_processes_to_a_leaf() {
        let mut fs = FakeFs::default();
        let d = "/sys/fs/cgroup/deleg";
        fs.files.insert(format!("{d}/cgroup.controllers"), "cpu memory pids\n".into());
        fs.files.insert(format!("{d}/cgroup.subtree_control"), "\n".into());
        fs.files.insert(format!("{d}/cgroup.procs"), "42\n43\n".into());
        fs.files.insert("/sys/fs/cgroup/cgroup.controllers".into(), "cpu memory pids io\n".into());
        fs.writable.push(format!("{d}/cgroup.subtree_control"));
        fs.busy.push(format!("{d}/cgroup.subtree_control"));
        let r = Resources { pids: Some(PidsResources { limit: 10 }), ..Default::default() };
        let out = create(&mut fs, "/deleg/ncx/c1", Some(&r)).unwrap();
        assert_eq!(out, "/sys/fs/cgroup/deleg/ncx/c1");
        let log = fs.log.join("\n");
        let leaf = log.find(&format!("write {d}/ncx-leaf/cgroup.procs 42")).expect(&log);
        let enable = log.find(&format!("write {d}/cgroup.subtree_control +cpu +memory +pids")).expect(&log);
        let mk = log.find(&format!("mkdir {d}/ncx/c1")).expect(&log);
        let limit = log.find(&format!("write {d}/ncx/c1/pids.max 10")).expect(&log);
        assert!(leaf < enable && enable < mk && mk < limit, "{log}");
    }

    #[test]
    fn create_without_delegation_is_an_error() {
        let mut fs = FakeFs::default();
        fs.files.insert("/sys/fs/cgroup/x/cgroup.controllers".into(), "memory".into());
        assert!(create(&mut fs, "/x/ncx/c1", None).is_err());
    }

    #[test]
    fn oom_kill_count_is_read_from_memory_events() {
        let mut fs = FakeFs::default();
        fs.files.insert("/c/memory.events".into(), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n".into());
        assert_eq!(oom_kills(&mut fs, "/c"), 1);
        assert_eq!(oom_kills(&mut fs, "/none"), 0);
    }
}
