//! The OCI `linux.seccomp` section compiled to BPF with `seccompiler` (Firecracker's pure-Rust
//! BPF generator) and installed on the calling thread.
//!
//! seccompiler gives a filter one action on match and one on mismatch, while an OCI profile
//! has an action per rule. The profile becomes a *stack* of filters, which the kernel
//! evaluates together, taking the action of highest precedence (kill > trap > errno > trace >
//! log > allow; among equal ones, the data of the filter installed last):
//!   1. the base filter: every syscall the profile names (with its argument conditions) →
//!      ALLOW, anything else → the default action;
//!   2. one filter per other action A: the syscalls whose rules say A → A, anything else →
//!      ALLOW.
//! A call matching a rule with action A gets ALLOW from the base filter and A from its own
//! filter, so A; a call matching nothing gets the default action from the base filter and
//! ALLOW from the others. That is libseccomp's meaning of the profile for every profile
//! whose rules do not contradict each other for the same call.

use crate::spec::{Seccomp, SeccompSyscall};
use seccompiler::{BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};
use std::collections::BTreeMap;

#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "x86_64")]
const ARCH: Option<(TargetArch, &[(&str, i64)])> = Some((TargetArch::x86_64, x86_64::SYSCALLS));
#[cfg(not(target_arch = "x86_64"))]
const ARCH: Option<(TargetArch, &[(&str, i64)])> = None;

/// Why a profile could not be compiled or installed.
#[derive(Debug, PartialEq)]
pub enum SeccompError {
    UnsupportedArch,
    Action(String),
    Operator(String),
    Compile(String),
    Install(String),
}

impl std::fmt::Display for SeccompError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeccompError::UnsupportedArch => write!(f, "seccomp profiles are supported on x86_64 only; run with --security-opt seccomp=unconfined"),
            SeccompError::Action(a) => write!(f, "seccomp: unsupported action {a:?}"),
            SeccompError::Operator(o) => write!(f, "seccomp: unsupported argument operator {o:?}"),
            SeccompError::Compile(e) => write!(f, "seccomp: cannot compile the profile: {e}"),
            SeccompError::Install(e) => write!(f, "seccomp: cannot install the filter: {e}"),
        }
    }
}

impl std::error::Error for SeccompError {}

/// The number of a syscall on this architecture (None: unknown here, skipped as libseccomp does).
pub fn syscall_number(name: &str) -> Option<i64> {
    ARCH.and_then(|(_, table)| table.iter().find(|(n, _)| *n == name).map(|(_, nr)| *nr))
}

fn action(name: &str, errno: Option<u32>, default_errno: u32) -> Result<SeccompAction, SeccompError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => SeccompAction::Allow,
        "SCMP_ACT_ERRNO" => SeccompAction::Errno(errno.unwrap_or(default_errno)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => SeccompAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompAction::KillProcess,
        "SCMP_ACT_TRAP" => SeccompAction::Trap,
        "SCMP_ACT_LOG" => SeccompAction::Log,
        "SCMP_ACT_TRACE" => SeccompAction::Trace(errno.unwrap_or(default_errno)),
        other => return Err(SeccompError::Action(other.into())),
    })
}

fn rule(s: &SeccompSyscall) -> Result<Option<SeccompRule>, SeccompError> {
    if s.args.is_empty() {
        return Ok(None);
    }
    let mut conds = Vec::new();
    for a in &s.args {
        let op = match a.op.as_str() {
            "SCMP_CMP_EQ" => SeccompCmpOp::Eq,
            "SCMP_CMP_NE" => SeccompCmpOp::Ne,
            "SCMP_CMP_LT" => SeccompCmpOp::Lt,
            "SCMP_CMP_LE" => SeccompCmpOp::Le,
            "SCMP_CMP_GT" => SeccompCmpOp::Gt,
            "SCMP_CMP_GE" => SeccompCmpOp::Ge,
            "SCMP_CMP_MASKED_EQ" => SeccompCmpOp::MaskedEq(a.value),
            other => return Err(SeccompError::Operator(other.into())),
        };
        // MASKED_EQ compares (arg & value) with valueTwo; the others compare with value.
        let operand = if a.op == "SCMP_CMP_MASKED_EQ" { a.value_two } else { a.value };
        let c = SeccompCondition::new(a.index as u8, SeccompCmpArgLen::Qword, op, operand).map_err(|e| SeccompError::Compile(e.to_string()))?;
        conds.push(c);
    }
    SeccompRule::new(conds).map(Some).map_err(|e| SeccompError::Compile(e.to_string()))
}

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

/// Add `s` to `rules`: an unconditional entry (empty rule list) wins over conditional ones.
fn add(rules: &mut Rules, nr: i64, r: &Option<SeccompRule>) {
    match (rules.get_mut(&nr), r) {
        (Some(list), Some(r)) if !list.is_empty() => list.push(r.clone()),
        (Some(list), None) => list.clear(),
        (Some(_), Some(_)) => {}
        (None, r) => {
            rules.insert(nr, r.iter().cloned().collect());
        }
    }
}

/// Compile a profile into the filters to install, in order.
pub fn compile(profile: &Seccomp) -> Result<Vec<BpfProgram>, SeccompError> {
    let (arch, _) = ARCH.ok_or(SeccompError::UnsupportedArch)?;
    let default_errno = profile.default_errno_ret.unwrap_or(libc::EPERM as u32);
    let default = action(&profile.default_action, profile.default_errno_ret, libc::EPERM as u32)?;
    let mut base: Rules = BTreeMap::new();
    // Per action, in first-seen order (so equal-precedence data resolve predictably).
    let mut groups: Vec<(SeccompAction, Rules)> = Vec::new();
    for s in &profile.syscalls {
        let act = action(&s.action, s.errno_ret, default_errno)?;
        let r = rule(s)?;
        for name in &s.names {
            let Some(nr) = syscall_number(name) else { continue };
            add(&mut base, nr, &r);
            if act == SeccompAction::Allow {
                continue;
            }
            let i = match groups.iter().position(|(a, _)| *a == act) {
                Some(i) => i,
                None => {
                    groups.push((act.clone(), BTreeMap::new()));
                    groups.len() - 1
                }
            };
            add(&mut groups[i].1, nr, &r);
        }
    }
    let build = |rules: Rules, mismatch: SeccompAction, on_match: SeccompAction| -> Result<BpfProgram, SeccompError> {
        let f = SeccompFilter::new(rules, mismatch, on_match, arch).map_err(|e| SeccompError::Compile(e.to_string()))?;
        f.try_into().map_err(|e: seccompiler::BackendError| SeccompError::Compile(e.to_string()))
    };
    let mut out = Vec::new();
    if default != SeccompAction::Allow {
        out.push(build(base, default, SeccompAction::Allow)?);
    }
    for (act, rules) in groups {
        if !rules.is_empty() {
            out.push(build(rules, SeccompAction::Allow, act)?);
        }
    }
    Ok(out)
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const seccompiler::sock_filter,
}

/// Install compiled filters on the calling thread (they are inherited across execve).
/// Needs no_new_privs or CAP_SYS_ADMIN in the current user namespace. (Not
/// `seccompiler::apply_filter`: it sets no_new_privs itself, which must stay the user's choice.)
pub fn install(filters: &[BpfProgram]) -> Result<(), SeccompError> {
    for f in filters {
        let prog = SockFprog { len: f.len() as u16, filter: f.as_ptr() };
        let rc = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0 as libc::c_ulong, &prog as *const SockFprog) };
        if rc < 0 {
            return Err(SeccompError::Install(std::io::Error::last_os_error().to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SeccompArg;

    fn sys(names: &[&str], action: &str, errno: Option<u32>, args: Vec<SeccompArg>) -> SeccompSyscall {
        SeccompSyscall { names: names.iter().map(|s| s.to_string()).collect(), action: action.into(), errno_ret: errno, args }
    }

    #[test]
    fn names_resolve_on_this_arch() {
        if ARCH.is_none() {
            return;
        }
        assert_eq!(syscall_number("read"), Some(0));
        assert_eq!(syscall_number("clone3"), Some(435));
        assert_eq!(syscall_number("no_such_call"), None);
    }

    #[test]
    fn one_filter_per_non_default_action_after_the_base() {
        if ARCH.is_none() {
            return;
        }
        let p = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(1),
            syscalls: vec![
                sys(&["read", "write", "not_a_syscall"], "SCMP_ACT_ALLOW", None, vec![]),
                sys(&["clone"], "SCMP_ACT_ALLOW", None, vec![SeccompArg { index: 0, value: 0x7E02_0000, value_two: 0, op: "SCMP_CMP_MASKED_EQ".into() }]),
                sys(&["clone3"], "SCMP_ACT_ERRNO", Some(38), vec![]),
            ],
            ..Default::default()
        };
        assert_eq!(compile(&p).unwrap().len(), 2);
        let allow_default = Seccomp { default_action: "SCMP_ACT_ALLOW".into(), syscalls: vec![sys(&["keyctl"], "SCMP_ACT_ERRNO", None, vec![])], ..Default::default() };
        assert_eq!(compile(&allow_default).unwrap().len(), 1);
    }

    #[test]
    fn unknown_actions_and_operators_are_errors() {
        if ARCH.is_none() {
            return;
        }
        let p = Seccomp { default_action: "SCMP_ACT_NOPE".into(), ..Default::default() };
        assert_eq!(compile(&p).unwrap_err(), SeccompError::Action("SCMP_ACT_NOPE".into()));
        let q = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            syscalls: vec![sys(&["read"], "SCMP_ACT_ALLOW", None, vec![SeccompArg { index: 0, value: 1, value_two: 0, op: "SCMP_CMP_ABOUT".into() }])],
            ..Default::default()
        };
        assert_eq!(compile(&q).unwrap_err(), SeccompError::Operator("SCMP_CMP_ABOUT".into()));
    }

    /// Install a real filter in a forked child: the blocked call fails with the profile's errno.
    #[test]
    fn an_installed_filter_returns_the_rule_errno() {
        if ARCH.is_none() {
            return;
        }
        let p = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            syscalls: vec![sys(&["getppid"], "SCMP_ACT_ERRNO", Some(libc::ENOSYS as u32), vec![])],
            ..Default::default()
        };
        let filters = compile(&p).unwrap();
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            let ok = install(&filters).is_ok();
            let r = unsafe { libc::syscall(libc::SYS_getppid) };
            let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            let pid_ok = unsafe { libc::syscall(libc::SYS_getpid) } > 0;
            unsafe { libc::_exit(if ok && r == -1 && e == libc::ENOSYS && pid_ok { 0 } else { 1 }) };
        }
        let mut st = 0;
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "status {st}");
    }
}
