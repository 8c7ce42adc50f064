//! The subset of the OCI runtime-spec `config.json` that ncx reads and writes.
//! Field names follow the spec (camelCase); unknown fields are ignored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub oci_version: String,
    pub process: Option<Process>,
    pub root: Option<Root>,
    #[serde(default)]
    pub hostname: String,
    /// `--domainname`: the UTS namespace's NIS domain name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    pub linux: Option<Linux>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    #[serde(default)]
    pub user: User,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default = "default_cwd")]
    pub cwd: String,
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// The terminal's initial size (OCI `consoleSize`: the Engine API's `ConsoleSize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ConsoleSize {
    #[serde(default)]
    pub height: u16,
    #[serde(default)]
    pub width: u16,
}

fn default_cwd() -> String {
    "/".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    #[serde(default)]
    pub umask: Option<u32>,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(default)]
    pub bounding: Vec<String>,
    #[serde(default)]
    pub effective: Vec<String>,
    #[serde(default)]
    pub inheritable: Vec<String>,
    #[serde(default)]
    pub permitted: Vec<String>,
    #[serde(default)]
    pub ambient: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "rlim")]
    pub hard: u64,
    #[serde(deserialize_with = "rlim")]
    pub soft: u64,
}

/// An rlimit value; JSON writers without 64-bit integers (JavaScript) write RLIM_INFINITY
/// (2^64-1) as a float that rounds up to 2^64: anything that large means unlimited.
fn rlim<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Number::deserialize(d)?;
    Ok(match v.as_u64() {
        Some(n) => n,
        None => match v.as_f64() {
            Some(f) if f >= u64::MAX as f64 => u64::MAX,
            Some(f) if f >= 0.0 => f as u64,
            _ => return Err(serde::de::Error::custom("negative rlimit")),
        },
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Root {
    pub path: String,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    #[serde(default)]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default)]
    pub gid_mappings: Vec<IdMapping>,
    #[serde(default)]
    pub devices: Vec<Device>,
    #[serde(default)]
    pub masked_paths: Vec<String>,
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    #[serde(default)]
    pub rootfs_propagation: String,
    pub seccomp: Option<Seccomp>,
    #[serde(default)]
    pub sysctl: std::collections::BTreeMap<String, String>,
    pub resources: Option<Resources>,
    #[serde(default)]
    pub cgroups_path: String,
}

/// `linux.seccomp` (the OCI form of a seccomp profile).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seccomp {
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<SeccompSyscall>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompSyscall {
    pub names: Vec<String>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Vec<SeccompArg>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompArg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// `linux.resources`: the cgroup limits (the runtime writes them as cgroup v2 files).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub memory: Option<MemoryResources>,
    pub cpu: Option<CpuResources>,
    pub pids: Option<PidsResources>,
    #[serde(rename = "blockIO")]
    pub block_io: Option<BlockIoResources>,
    /// `hugepageLimits`: hugetlb.<pageSize>.max.
    #[serde(default)]
    pub hugepage_limits: Vec<HugepageLimit>,
    /// The device allow-list: an eBPF program on the cgroup (devices.rs).
    #[serde(default)]
    pub devices: Vec<DeviceRule>,
    /// cgroup v2 files written as given (OCI `unified`).
    #[serde(default)]
    pub unified: std::collections::BTreeMap<String, String>,
}

/// One entry of `linux.resources.devices`: type "a" (or none), "c" or "b"; no major/minor (or
/// -1) for any; access a subset of "rwm" (none: all).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub major: Option<i64>,
    #[serde(default)]
    pub minor: Option<i64>,
    #[serde(default)]
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit {
    /// "2MB", "1GB": the kernel's own spelling in hugetlb.<size>.max.
    pub page_size: String,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryResources {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    pub swap: Option<i64>,
    #[serde(rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuResources {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub period: Option<u64>,
    #[serde(default)]
    pub cpus: String,
    #[serde(default)]
    pub mems: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PidsResources {
    pub limit: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockIoResources {
    pub weight: Option<u16>,
    #[serde(default)]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    #[serde(default)]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    #[serde(default, rename = "throttleReadIOPSDevice")]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    #[serde(default, rename = "throttleWriteIOPSDevice")]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMapping {
    #[serde(rename = "containerID")]
    pub container_id: u32,
    #[serde(rename = "hostID")]
    pub host_id: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub major: i64,
    pub minor: i64,
    #[serde(default)]
    pub file_mode: Option<u32>,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub gid: Option<u32>,
}

/// Why a config.json could not be used.
#[derive(Debug)]
pub enum SpecError {
    Read(String, std::io::Error),
    Parse(String, serde_json::Error),
    Missing(&'static str),
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecError::Read(p, e) => write!(f, "cannot read {p}: {e}"),
            SpecError::Parse(p, e) => write!(f, "{p} is not a valid OCI runtime spec: {e}"),
            SpecError::Missing(what) => write!(f, "config.json has no {what}"),
        }
    }
}

impl std::error::Error for SpecError {}

impl Spec {
    pub fn load(path: &str) -> Result<Spec, SpecError> {
        let text = std::fs::read(path).map_err(|e| SpecError::Read(path.into(), e))?;
        let spec: Spec = serde_json::from_slice(&text).map_err(|e| SpecError::Parse(path.into(), e))?;
        if spec.process.is_none() {
            return Err(SpecError::Missing("process"));
        }
        if spec.root.is_none() {
            return Err(SpecError::Missing("root"));
        }
        Ok(spec)
    }

    pub fn has_namespace(&self, kind: &str) -> bool {
        self.linux.as_ref().map(|l| l.namespaces.iter().any(|n| n.kind == kind)).unwrap_or(false)
    }

    /// The path of a namespace the config asks to join (`{"type": "mount", "path": …}`), if any.
    pub fn namespace_path(&self, kind: &str) -> Option<&str> {
        self.linux.as_ref()?.namespaces.iter().find(|n| n.kind == kind && !n.path.is_empty()).map(|n| n.path.as_str())
    }
}
