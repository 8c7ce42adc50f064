//! The OCI device allow-list (`linux.resources.devices`) on cgroup v2: an eBPF program of type
//! BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup (cgroup v2 has no
//! devices.allow file). The kernel runs it on every open and mknod of a device node by a
//! process in the cgroup; it returns 1 to allow, 0 to deny (EPERM).
//!
//! The rules are the OCI list followed by runc's default allowed devices (the standard nodes
//! and pseudo-terminals, mknod of any node), so a config written for runc behaves the same.
//! The last rule that matches a request decides (the program checks them last to first); no
//! match denies. An allow rule matches a request whose access bits it all grants; a deny rule
//! matches a request asking for any bit it names. (Unlike cgroup v1's list, two allow rules
//! for one device do not add up: `r` and then `w` do not grant an open for reading and writing.)

use crate::spec::DeviceRule;

/// The bpf(2) errors of loading and attaching the program.
#[derive(Debug)]
pub struct DevicesError {
    pub op: &'static str,
    pub err: std::io::Error,
    /// The verifier's log when it refused the program.
    pub log: String,
}

impl std::fmt::Display for DevicesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "device rules: {}: {}", self.op, self.err)?;
        if !self.log.is_empty() {
            write!(f, " ({})", self.log.trim())?;
        }
        Ok(())
    }
}

impl std::error::Error for DevicesError {}

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low 4 bits, src_reg in the high 4 bits.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: dst | (src << 4), off, imm }
}

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JEQ_K: u8 = 0x15;
const JNE_K: u8 = 0x55;
const EXIT: u8 = 0x95;

// struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// runc's default allowed devices (libcontainer/specconv AllowedDevices), after the config's.
pub fn default_rules() -> Vec<DeviceRule> {
    let r = |kind: &str, major: Option<i64>, minor: Option<i64>, access: &str| DeviceRule { allow: true, kind: Some(kind.into()), major, minor, access: Some(access.into()) };
    vec![
        r("c", None, None, "m"),
        r("b", None, None, "m"),
        r("c", Some(1), Some(3), "rwm"),   // /dev/null
        r("c", Some(1), Some(8), "rwm"),   // /dev/random
        r("c", Some(1), Some(7), "rwm"),   // /dev/full
        r("c", Some(5), Some(0), "rwm"),   // /dev/tty
        r("c", Some(1), Some(5), "rwm"),   // /dev/zero
        r("c", Some(1), Some(9), "rwm"),   // /dev/urandom
        r("c", Some(136), None, "rwm"),    // /dev/pts/*
        r("c", Some(5), Some(2), "rwm"),   // /dev/ptmx
        r("c", Some(10), Some(200), "rwm"), // /dev/net/tun
    ]
}

fn access_bits(access: Option<&str>) -> i32 {
    match access {
        None | Some("") => ACC_ALL,
        Some(a) => a.chars().map(|c| match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }).fold(0, |x, y| x | y),
    }
}

/// The program for `rules` (in the config's order; the defaults appended by the caller).
pub fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    // r2 = type, r3 = access, r4 = major, r5 = minor (r1 is the context, then scratch).
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let access = access_bits(rule.access.as_deref());
        if access == 0 {
            continue; // grants or denies nothing
        }
        // Each check jumps past the rest of the block when the rule does not match.
        let mut checks: Vec<Vec<Insn>> = Vec::new();
        match rule.kind.as_deref() {
            Some("c") => checks.push(vec![insn(JNE_K, 2, 0, 0, DEV_CHAR)]),
            Some("b") => checks.push(vec![insn(JNE_K, 2, 0, 0, DEV_BLOCK)]),
            _ => {} // "a" or none: any type
        }
        if access != ACC_ALL {
            checks.push(if rule.allow {
                // every requested bit granted: (access_req & ~access) == 0
                vec![insn(ALU32_MOV_X, 1, 3, 0, 0), insn(ALU32_AND_K, 1, 0, 0, !access & ACC_ALL), insn(JNE_K, 1, 0, 0, 0)]
            } else {
                // any requested bit denied: (access_req & access) != 0
                vec![insn(ALU32_MOV_X, 1, 3, 0, 0), insn(ALU32_AND_K, 1, 0, 0, access), insn(JEQ_K, 1, 0, 0, 0)]
            });
        }
        if let Some(m) = rule.major.filter(|m| *m >= 0) {
            checks.push(vec![insn(JNE_K, 4, 0, 0, m as i32)]);
        }
        if let Some(m) = rule.minor.filter(|m| *m >= 0) {
            checks.push(vec![insn(JNE_K, 5, 0, 0, m as i32)]);
        }
        let always = checks.is_empty();
        let mut block: Vec<Insn> = checks.into_iter().flatten().collect();
        block.push(insn(ALU64_MOV_K, 0, 0, 0, rule.allow as i32));
        block.push(insn(EXIT, 0, 0, 0, 0));
        if always {
            // A rule for every request (`runc spec`'s deny-all): the rules before it never
            // decide, and the verifier refuses a program with unreachable instructions.
            p.extend(block);
            return p;
        }
        let n = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JEQ_K {
                ins.off = (n - i - 1) as i16; // to the next block
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// What `program` decides for one request (an interpreter of the few opcodes it emits; the
/// tests check rules through it).
pub fn evaluate(p: &[Insn], kind: char, major: u32, minor: u32, access: &str) -> bool {
    let t = if kind == 'b' { DEV_BLOCK } else { DEV_CHAR } as u32;
    let ctx = [(access_bits(Some(access)) as u32) << 16 | t, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
        pc += 1;
        match i.code {
            LDX_MEM_W => r[dst] = ctx[i.off as usize / 4] as u64,
            ALU32_AND_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
            ALU32_RSH_K => r[dst] = (r[dst] as u32 >> i.imm) as u64,
            ALU32_MOV_X => r[dst] = r[src] as u32 as u64,
            ALU64_MOV_K => r[dst] = i.imm as i64 as u64,
            JEQ_K if r[dst] == i.imm as i64 as u64 => pc += i.off as usize,
            JNE_K if r[dst] != i.imm as i64 as u64 => pc += i.off as usize,
            JEQ_K | JNE_K => {}
            EXIT => return r[0] == 1,
            c => panic!("opcode {c:#x}"),
        }
    }
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<i32> {
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc as i32)
    }
}

/// Load the program for `rules` (+ the defaults) and attach it to the cgroup directory `cgroup_fd`.
pub fn attach(cgroup_fd: i32, rules: &[DeviceRule]) -> Result<(), DevicesError> {
    let mut all = rules.to_vec();
    all.extend(default_rules());
    let insns = program(&all);
    let license = b"Apache\0";
    let mut log = vec![0u8; 64 * 1024];
    let mut load = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    let prog = match bpf(BPF_PROG_LOAD, &mut load) {
        Ok(fd) => fd,
        // Refused: load again with the verifier's log, to say why.
        Err(err) => {
            load.log_level = 1;
            load.log_size = log.len() as u32;
            load.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut load);
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            // Its last lines: the complaint, then the statistics.
            let text = String::from_utf8_lossy(&log[..end]).into_owned();
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let log = lines[lines.len().saturating_sub(3)..].join("; ");
            return Err(DevicesError { op: "load the device program", err, log });
        }
    };
    let mut at = ProgAttachAttr { target_fd: cgroup_fd as u32, attach_bpf_fd: prog as u32, attach_type: BPF_CGROUP_DEVICE, attach_flags: BPF_F_ALLOW_MULTI };
    let r = bpf(BPF_PROG_ATTACH, &mut at);
    // The attachment holds the program; our descriptor is no longer needed.
    unsafe { libc::close(prog) };
    r.map(|_| ()).map_err(|err| DevicesError { op: "attach the device program to the cgroup", err, log: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, kind: &str, major: Option<i64>, minor: Option<i64>, access: &str) -> DeviceRule {
        DeviceRule { allow, kind: Some(kind.into()), major, minor, access: Some(access.into()) }
    }

    fn with_defaults(rules: Vec<DeviceRule>) -> Vec<Insn> {
        let mut all = rules;
        all.extend(default_rules());
        program(&all)
    }

    #[test]
    fn runc_specs_deny_all_keeps_the_default_devices_only() {
        let p = with_defaults(vec![rule(false, "a", None, None, "rwm")]);
        assert!(evaluate(&p, 'c', 1, 3, "rw"), "/dev/null");
        assert!(evaluate(&p, 'c', 136, 7, "rw"), "/dev/pts/7");
        assert!(evaluate(&p, 'b', 8, 0, "m"), "mknod of any node");
        assert!(!evaluate(&p, 'b', 8, 0, "r"), "/dev/sda");
        assert!(!evaluate(&p, 'c', 1, 1, "r"), "/dev/mem");
        assert!(!evaluate(&p, 'c', 10, 229, "rw"), "/dev/fuse");
    }

    #[test]
    fn an_allow_rule_grants_only_its_access_and_its_device() {
        // test/vm/oci-cgroups.sh's linux_cgroups_devices
        let p = with_defaults(vec![rule(false, "a", None, None, "rwm"), rule(true, "b", Some(7), Some(0), "r")]);
        assert!(evaluate(&p, 'b', 7, 0, "r"));
        assert!(!evaluate(&p, 'b', 7, 0, "rw"));
        assert!(!evaluate(&p, 'b', 7, 0, "w"));
        assert!(!evaluate(&p, 'b', 7, 1, "r"));
        assert!(!evaluate(&p, 'c', 7, 0, "r"), "a char device of the same numbers");
        // the suite's own rules: c 10:229 rwm, b 8:20 rw, c 10:200 r; wildcard minors
        let p = with_defaults(vec![rule(false, "a", None, None, "rwm"), rule(true, "c", Some(10), Some(229), "rwm"), rule(true, "b", Some(8), None, "rw")]);
        assert!(evaluate(&p, 'c', 10, 229, "rw"));
        assert!(evaluate(&p, 'b', 8, 20, "rw") && evaluate(&p, 'b', 8, 0, "r"));
        assert!(!evaluate(&p, 'b', 9, 0, "r"));
    }

    #[test]
    fn the_last_matching_rule_decides_and_a_deny_takes_the_bits_it_names() {
        let p = program(&[rule(true, "a", None, None, "rwm"), rule(false, "c", Some(1), Some(3), "w")]);
        assert!(evaluate(&p, 'c', 1, 3, "r"));
        assert!(!evaluate(&p, 'c', 1, 3, "rw"));
        assert!(!evaluate(&p, 'c', 1, 3, "w"));
        assert!(evaluate(&p, 'b', 8, 0, "rwm"), "everything else allowed");
        // allow after deny: the later rule wins
        let p = program(&[rule(false, "c", Some(1), Some(3), "rwm"), rule(true, "c", Some(1), None, "rw")]);
        assert!(evaluate(&p, 'c', 1, 3, "rw"));
        assert!(!evaluate(&p, 'c', 1, 3, "m"));
        // no rule at all: deny
        assert!(!evaluate(&program(&[]), 'c', 1, 3, "r"));
    }

    /// The kernel's verifier refuses unreachable instructions ("unreachable insn N").
    fn all_reachable(p: &[Insn]) -> bool {
        let mut seen = vec![false; p.len()];
        let mut todo = vec![0usize];
        while let Some(pc) = todo.pop() {
            if pc >= p.len() || seen[pc] {
                continue;
            }
            seen[pc] = true;
            match p[pc].code {
                EXIT => {}
                JEQ_K | JNE_K => todo.extend([pc + 1, pc + 1 + p[pc].off as usize]),
                _ => todo.push(pc + 1),
            }
        }
        seen.iter().all(|s| *s)
    }

    #[test]
    fn every_instruction_is_reachable() {
        for rules in [
            vec![rule(false, "a", None, None, "rwm"), rule(true, "b", Some(7), Some(0), "r")],
            vec![rule(true, "a", None, None, "rwm")],
            vec![rule(true, "c", Some(1), Some(3), "r")],
            vec![],
        ] {
            assert!(all_reachable(&with_defaults(rules.clone())), "{rules:?}");
            assert!(all_reachable(&program(&rules)), "{rules:?}");
        }
    }

    #[test]
    fn jumps_land_on_the_next_block() {
        let p = program(&[rule(true, "c", Some(1), Some(3), "r")]);
        // prologue 6; block: type, mov+and+jne, major, minor, mov r0, exit = 8; epilogue 2
        assert_eq!(p.len(), 6 + 8 + 2);
        let jumps: Vec<(usize, i16)> = p.iter().enumerate().filter(|(_, i)| i.code == JNE_K).map(|(n, i)| (n, i.off)).collect();
        for (n, off) in jumps {
            assert_eq!(n + 1 + off as usize, 14, "jump at {n} lands after the block");
        }
    }
}
