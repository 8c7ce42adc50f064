//! Linux capabilities by name, and applying a capability set to the current process.

use crate::sys::{errno, SysError, SysResult};

pub const NAMES: [&str; 41] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/// Capability number for a name such as `CAP_CHOWN` or `chown`.
pub fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

/// A 64-bit mask from capability names; unknown names are errors.
pub fn mask(names: &[String]) -> Result<u64, String> {
    let mut m = 0u64;
    for n in names {
        match number(n) {
            Some(i) => m |= 1u64 << i,
            None => return Err(format!("unknown capability {n:?}")),
        }
    }
    Ok(m)
}

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Drop every capability not in `keep` from the bounding set (needs CAP_SETPCAP).
pub fn drop_bounding(keep: u64) -> SysResult<()> {
    for cap in 0..=last_cap() {
        if keep & (1u64 << cap) == 0 {
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if rc < 0 && errno() != libc::EINVAL {
                return Err(SysError { op: "drop bounding capability", target: NAMES.get(cap as usize).unwrap_or(&"?").to_string(), errno: errno() });
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's permitted set: capset can keep or lower it, never raise it.
pub fn permitted() -> SysResult<u64> {
    let mut hdr = CapHeader { version: 0x2008_0522, pid: 0 }; // _LINUX_CAPABILITY_VERSION_3
    let mut data = [CapData::default(); 2];
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut CapHeader, data.as_mut_ptr()) };
    if rc < 0 {
        return Err(SysError { op: "capget", target: String::new(), errno: errno() });
    }
    Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
}

/// The names of the capabilities in `wanted` that `held` lacks, in kernel order.
pub fn missing(wanted: u64, held: u64) -> Vec<&'static str> {
    (0..64).filter(|c| wanted & !held & (1u64 << c) != 0).map(|c| NAMES.get(c as usize).copied().unwrap_or("CAP_?")).collect()
}

/// Set effective/permitted/inheritable sets, then raise the ambient ones.
pub fn apply(effective: u64, permitted: u64, inheritable: u64, ambient: u64) -> SysResult<()> {
    let mut hdr = CapHeader { version: 0x2008_0522, pid: 0 }; // _LINUX_CAPABILITY_VERSION_3
    let data = [
        CapData { effective: effective as u32, permitted: permitted as u32, inheritable: inheritable as u32 },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if rc < 0 {
        return Err(SysError { op: "capset", target: String::new(), errno: errno() });
    }
    unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) };
    for cap in 0..64u32 {
        if ambient & (1u64 << cap) != 0 {
            let rc = unsafe {
                libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong, cap as libc::c_ulong, 0, 0)
            };
            if rc < 0 {
                return Err(SysError { op: "raise ambient capability", target: NAMES.get(cap as usize).unwrap_or(&"?").to_string(), errno: errno() });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("net_bind_service"), Some(10));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_AUDIT_WRITE"), Some(29));
        assert_eq!(number("CAP_NOPE"), None);
    }

    #[test]
    fn missing_lists_what_is_not_held() {
        let wanted = mask(&["CAP_CHOWN".into(), "CAP_SYS_RESOURCE".into(), "CAP_KILL".into()]).unwrap();
        let held = mask(&["CAP_CHOWN".into(), "CAP_KILL".into()]).unwrap();
        assert_eq!(missing(wanted, held), vec!["CAP_SYS_RESOURCE"]);
        assert!(missing(held, wanted).is_empty());
    }

    #[test]
    fn permitted_is_readable() {
        // Whatever the test runs with, the call works and the set fits the kernel's caps.
        let p = permitted().unwrap();
        assert_eq!(p >> (last_cap() + 1), 0);
    }

    #[test]
    fn mask_rejects_unknown() {
        assert_eq!(mask(&["CAP_KILL".into(), "CAP_CHOWN".into()]), Ok((1 << 5) | 1));
        assert!(mask(&["CAP_BOGUS".into()]).unwrap_err().contains("CAP_BOGUS"));
    }
}
