//! What a container's monitor records in the container's directory (`state.json`), and the
//! pure rules it applies: restart policy with back-off, and the health-check state machine.
//! Everything here is plain data and arithmetic, unit-tested without processes.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

/// One health probe result, as Docker's `State.Health.Log[]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLog {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

/// Docker's `State.Health`: `starting`, `healthy` or `unhealthy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    pub status: String,
    pub failing_streak: u32,
    pub log: Vec<HealthLog>,
}

/// Docker keeps the last five probe results and 4 KiB of output each.
pub const HEALTH_LOG_ENTRIES: usize = 5;
pub const HEALTH_OUTPUT_MAX: usize = 4096;

impl HealthState {
    pub fn starting() -> HealthState {
        HealthState { status: "starting".into(), failing_streak: 0, log: Vec::new() }
    }

    /// Apply one probe result: success makes it healthy; failures count (except during the
    /// start period) and `retries` consecutive ones make it unhealthy.
    pub fn record(&mut self, entry: HealthLog, in_start_period: bool, retries: u32) {
        if entry.exit_code == 0 {
            self.status = "healthy".into();
            self.failing_streak = 0;
        } else if !in_start_period {
            self.failing_streak += 1;
            if self.failing_streak >= retries.max(1) {
                self.status = "unhealthy".into();
            }
        }
        self.log.push(entry);
        if self.log.len() > HEALTH_LOG_ENTRIES {
            self.log.remove(0);
        }
    }
}

/// The monitor's record of the container's process, rewritten atomically on every change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// `running`, `restarting` or `exited`.
    pub status: String,
    /// The container's init as seen from the host (0 when not running).
    pub pid: i32,
    /// The monitor, and its start time in clock ticks after boot (/proc/PID/stat field 22),
    /// so a reused pid is never mistaken for a live monitor.
    pub monitor_pid: i32,
    pub monitor_start: u64,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub restart_count: u32,
    #[serde(default)]
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthState>,
    /// The kernel's OOM killer killed a process of the container (memory.events oom_kill).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oom_killed: bool,
}

impl State {
    /// Write `path` so readers see the old or the new content, never a mix. No fsync: the
    /// state describes processes, which do not outlive a crash of the machine either (after
    /// one, the monitor is dead and readers report the container as exited), and the sync
    /// would sit in the path of every `run -d`.
    pub fn write(&self, path: &str) -> std::io::Result<()> {
        let tmp = format!("{path}.tmp-{}", std::process::id());
        // 0600 whatever the umask: the state is the user's alone (docs/security.md).
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(&serde_json::to_vec(self).unwrap_or_default())?;
        drop(f);
        std::fs::rename(&tmp, path)
    }

    pub fn read(path: &str) -> Option<State> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// `--restart no|on-failure[:N]|always|unless-stopped`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RestartPolicy {
    No,
    /// At most N restarts (0: unlimited).
    OnFailure(u32),
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    pub fn parse(text: &str) -> Option<RestartPolicy> {
        match text.split_once(':') {
            None => match text {
                "" | "no" => Some(RestartPolicy::No),
                "on-failure" => Some(RestartPolicy::OnFailure(0)),
                "always" => Some(RestartPolicy::Always),
                "unless-stopped" => Some(RestartPolicy::UnlessStopped),
                _ => None,
            },
            Some(("on-failure", n)) => n.parse().ok().map(RestartPolicy::OnFailure),
            Some(_) => None,
        }
    }

    /// After the container exited with `code`, having been restarted `restarts` times:
    /// start it again? Never after a stop the user asked for.
    pub fn should_restart(&self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match *self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

/// Docker's back-off: 100 ms doubling per consecutive restart, at most a minute; a container
/// that ran for 10 s or more starts the sequence again.
pub fn backoff_ms(consecutive: u32) -> u64 {
    100u64.saturating_mul(1u64 << consecutive.min(20)).min(60_000)
}

pub const BACKOFF_RESET_MS: u64 = 10_000;

/// `2024-01-01T00:00:00.000000000Z` (Docker's RFC3339Nano with a fixed nine digits).
pub fn rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Start time of `pid` in clock ticks after boot (field 22 of /proc/PID/stat).
pub fn process_start(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_timestamps_like_docker() {
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let t = UNIX_EPOCH + Duration::new(1_704_067_200, 5);
        assert_eq!(rfc3339_nano(t), "2024-01-01T00:00:00.000000005Z");
        let leap = UNIX_EPOCH + Duration::new(951_825_600 + 3661, 123_456_789);
        assert_eq!(rfc3339_nano(leap), "2000-02-29T13:01:01.123456789Z");
    }

    #[test]
    fn parses_restart_policies() {
        assert_eq!(RestartPolicy::parse("no"), Some(RestartPolicy::No));
        assert_eq!(RestartPolicy::parse("on-failure"), Some(RestartPolicy::OnFailure(0)));
        assert_eq!(RestartPolicy::parse("on-failure:3"), Some(RestartPolicy::OnFailure(3)));
        assert_eq!(RestartPolicy::parse("always"), Some(RestartPolicy::Always));
        assert_eq!(RestartPolicy::parse("unless-stopped"), Some(RestartPolicy::UnlessStopped));
        assert_eq!(RestartPolicy::parse("sometimes"), None);
        assert_eq!(RestartPolicy::parse("always:2"), None);
    }

    #[test]
    fn on_failure_restarts_exactly_n_times() {
        let p = RestartPolicy::OnFailure(2);
        assert!(p.should_restart(3, 0, false));
        assert!(p.should_restart(3, 1, false));
        assert!(!p.should_restart(3, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(!RestartPolicy::Always.should_restart(0, 5, true));
        assert!(RestartPolicy::Always.should_restart(0, 5, false));
        assert!(!RestartPolicy::No.should_restart(1, 0, false));
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff_ms(0), 100);
        assert_eq!(backoff_ms(1), 200);
        assert_eq!(backoff_ms(3), 800);
        assert_eq!(backoff_ms(30), 60_000);
    }

    #[test]
    fn health_turns_healthy_then_unhealthy_after_retries() {
        let mut h = HealthState::starting();
        let probe = |code| HealthLog { exit_code: code, ..Default::default() };
        h.record(probe(1), true, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("starting", 0));
        h.record(probe(0), false, 2);
        assert_eq!(h.status, "healthy");
        h.record(probe(1), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 1));
        h.record(probe(1), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 2));
        for _ in 0..5 {
            h.record(probe(1), false, 2);
        }
        assert_eq!(h.log.len(), HEALTH_LOG_ENTRIES);
        h.record(probe(0), false, 2);
        assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 0));
    }

    #[test]
    fn state_round_trips_atomically() {
        let dir = std::env::temp_dir().join(format!("ncx-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json").to_string_lossy().into_owned();
        let s = State { status: "running".into(), pid: 42, monitor_pid: 7, restart_count: 1, ..Default::default() };
        // Private whatever the umask (docs/security.md): not 0666 under umask 000.
        let old = unsafe { libc::umask(0) };
        let written = s.write(&path);
        unsafe { libc::umask(old) };
        written.unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(State::read(&path), Some(s));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(process_start(std::process::id() as i32).is_some());
    }
}
