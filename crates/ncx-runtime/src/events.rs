//! Lifecycle events the monitor records for the engine's `ncx events` log
//! (src/engine/events.ts): the engine hands the monitor a Docker-shaped event as a
//! template (`--events FILE --event-template JSON`); the monitor fills in the action,
//! the time and, for `die`, the exit code, and appends one line with one O_APPEND write.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The monitor's event log, set once from its arguments (`--events FILE --event-template JSON`).
static LOG: OnceLock<EventLog> = OnceLock::new();

pub fn init(args: &crate::Args) {
    if let Some(log) = EventLog::from_args(args.get("events"), args.get("event-template")) {
        let _ = LOG.set(log);
    }
}

/// Record `action` when `cond` holds and the engine asked for events.
pub fn record_if(cond: bool, action: &str, exit_code: Option<i32>) {
    if let (true, Some(log)) = (cond, LOG.get()) {
        log.record(action, exit_code);
    }
}

/// Where and what to record; `None` when the engine asked for no events.
pub struct EventLog {
    path: String,
    template: serde_json::Value,
}

impl EventLog {
    pub fn from_args(path: Option<&str>, template: Option<&str>) -> Option<EventLog> {
        let template = serde_json::from_str(template?).ok()?;
        Some(EventLog { path: path?.to_string(), template })
    }

    /// The event line for `action` at `now` (nanoseconds since the epoch).
    pub fn line(&self, action: &str, exit_code: Option<i32>, now_ns: u128) -> String {
        let mut e = self.template.clone();
        e["status"] = action.into();
        e["Action"] = action.into();
        e["time"] = ((now_ns / 1_000_000_000) as u64).into();
        e["timeNano"] = (now_ns as u64).into();
        if let (Some(code), Some(attrs)) = (exit_code, e.pointer_mut("/Actor/Attributes")) {
            attrs["exitCode"] = code.to_string().into();
        }
        format!("{e}\n")
    }

    /// Append the event; a failure to record never disturbs the container.
    pub fn record(&self, action: &str, exit_code: Option<i32>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(&self.path) {
            let _ = f.write_all(self.line(action, exit_code, now).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_action_time_and_exit_code() {
        let log = EventLog::from_args(Some("/x"), Some(r#"{"Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"name":"web"}},"time":0,"timeNano":0}"#)).unwrap();
        let v: serde_json::Value = serde_json::from_str(log.line("die", Some(137), 1_700_000_000_123_456_789).trim()).unwrap();
        assert_eq!(v["Action"], "die");
        assert_eq!(v["status"], "die");
        assert_eq!(v["time"], 1_700_000_000u64);
        assert_eq!(v["timeNano"], 1_700_000_000_123_456_789u64);
        assert_eq!(v["Actor"]["Attributes"]["exitCode"], "137");
        assert_eq!(v["Actor"]["Attributes"]["name"], "web");
        let start: serde_json::Value = serde_json::from_str(log.line("start", None, 5).trim()).unwrap();
        assert!(start["Actor"]["Attributes"].get("exitCode").is_none());
    }

    #[test]
    fn no_log_without_both_arguments_or_with_bad_json() {
        assert!(EventLog::from_args(None, Some("{}")).is_none());
        assert!(EventLog::from_args(Some("/x"), None).is_none());
        assert!(EventLog::from_args(Some("/x"), Some("not json")).is_none());
    }
}
