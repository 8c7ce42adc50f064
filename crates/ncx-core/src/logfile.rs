//! Docker's `json-file` log format: one JSON object per line of container output,
//! `{"log":"line\n","stream":"stdout","time":"…Z"}`, with size-based rotation
//! (`max-size`, `max-file`): `LOG`, `LOG.1` (newest rotated) … `LOG.<max-file - 1>`.
//! Written with one `write(2)` per entry on an O_APPEND file, so readers following the log
//! never see half an entry, and the writer keeps no buffer beyond one partial line.

use crate::state::rfc3339_nano;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::SystemTime;

/// Docker splits lines longer than this into several entries.
pub const MAX_LINE: usize = 16 * 1024;

/// Escape like Go's encoding/json (HTML-safe, invalid UTF-8 as U+FFFD).
pub fn escape(bytes: &[u8], out: &mut String) {
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// One log line as json-file stores it (with the trailing newline).
pub fn encode_entry(line: &[u8], stream: &str, time: SystemTime) -> String {
    let mut s = String::with_capacity(line.len() + 64);
    s.push_str("{\"log\":\"");
    escape(line, &mut s);
    s.push_str("\",\"stream\":\"");
    s.push_str(stream);
    s.push_str("\",\"time\":\"");
    s.push_str(&rfc3339_nano(time));
    s.push_str("\"}\n");
    s
}

/// Cuts a byte stream into lines (keeping the `\n`), at most MAX_LINE bytes each.
#[derive(Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    pub fn feed(&mut self, mut data: &[u8], emit: &mut dyn FnMut(&[u8])) {
        while !data.is_empty() {
            match data.iter().position(|b| *b == b'\n') {
                Some(i) if self.buf.len() + i < MAX_LINE => {
                    if self.buf.is_empty() {
                        emit(&data[..=i]);
                    } else {
                        self.buf.extend_from_slice(&data[..=i]);
                        emit(&self.buf);
                        self.buf.clear();
                    }
                    data = &data[i + 1..];
                }
                _ => {
                    let room = MAX_LINE - self.buf.len();
                    let take = room.min(data.len());
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.buf.len() >= MAX_LINE {
                        emit(&self.buf);
                        self.buf.clear();
                    }
                }
            }
        }
        if self.buf.capacity() > MAX_LINE && self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }

    /// Emit a trailing partial line (at EOF).
    pub fn flush(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if !self.buf.is_empty() {
            emit(&self.buf);
            self.buf = Vec::new();
        }
    }
}

/// An append-only json-file log with rotation.
/// A container's output is the user's alone (docs/security.md), whatever the umask.
const LOG_MODE: u32 = 0o600;

pub struct JsonLog {
    path: String,
    file: Option<File>,
    size: u64,
    /// 0: no limit.
    max_size: u64,
    max_file: u32,
}

impl JsonLog {
    pub fn open(path: &str, max_size: u64, max_file: u32) -> std::io::Result<JsonLog> {
        let file = OpenOptions::new().create(true).append(true).mode(LOG_MODE).open(path)?;
        let size = file.metadata()?.len();
        Ok(JsonLog { path: path.into(), file: Some(file), size, max_size, max_file: max_file.max(1) })
    }

    pub fn write_entry(&mut self, stream: &str, line: &[u8], time: SystemTime) -> std::io::Result<()> {
        let entry = encode_entry(line, stream, time);
        if self.max_size > 0 && self.size > 0 && self.size + entry.len() as u64 > self.max_size {
            self.rotate()?;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(entry.as_bytes())?;
            self.size += entry.len() as u64;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        if self.max_file > 1 {
            for i in (1..self.max_file - 1).rev() {
                let _ = std::fs::rename(format!("{}.{i}", self.path), format!("{}.{}", self.path, i + 1));
            }
            std::fs::rename(&self.path, format!("{}.1", self.path))?;
            self.file = Some(OpenOptions::new().create(true).append(true).mode(LOG_MODE).open(&self.path)?);
        } else {
            let f = OpenOptions::new().create(true).write(true).truncate(true).mode(LOG_MODE).open(&self.path)?;
            drop(f);
            self.file = Some(OpenOptions::new().append(true).open(&self.path)?);
        }
        self.size = 0;
        Ok(())
    }
}

/// Parse Docker's `max-size` (`10k`, `5m`, `1g`, plain bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1024),
        'm' => (&t[..t.len() - 1], 1024 * 1024),
        'g' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t.as_str(), 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn encodes_entries_like_docker() {
        let t = UNIX_EPOCH + Duration::new(1_704_067_200, 0);
        assert_eq!(
            encode_entry(b"hi <b> \"q\"\t\x01\n", "stdout", t),
            "{\"log\":\"hi \\u003cb\\u003e \\\"q\\\"\\t\\u0001\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00.000000000Z\"}\n"
        );
        let mut s = String::new();
        escape(b"\xff", &mut s);
        assert_eq!(s, "\u{fffd}");
    }

    #[test]
    fn splits_lines_and_keeps_partials() {
        let mut sp = LineSplitter::default();
        let mut got: Vec<Vec<u8>> = Vec::new();
        sp.feed(b"a\nbc", &mut |l| got.push(l.to_vec()));
        sp.feed(b"d\ne\n", &mut |l| got.push(l.to_vec()));
        sp.feed(b"tail", &mut |l| got.push(l.to_vec()));
        sp.flush(&mut |l| got.push(l.to_vec()));
        assert_eq!(got, vec![b"a\n".to_vec(), b"bcd\n".to_vec(), b"e\n".to_vec(), b"tail".to_vec()]);
        let mut long = Vec::new();
        sp.feed(&vec![b'x'; MAX_LINE + 10], &mut |l| long.push(l.len()));
        sp.flush(&mut |l| long.push(l.len()));
        assert_eq!(long, vec![MAX_LINE, 10]);
    }

    #[test]
    fn rotates_by_size_keeping_max_file() {
        let dir = std::env::temp_dir().join(format!("ncx-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c-json.log").to_string_lossy().into_owned();
        // The log is private whatever the umask (docs/security.md): not 0666 under umask 000.
        let old = unsafe { libc::umask(0) };
        let mut log = JsonLog::open(&path, 200, 3).unwrap();
        for i in 0..20 {
            log.write_entry("stdout", format!("line {i}\n").as_bytes(), UNIX_EPOCH).unwrap();
        }
        let mut single = JsonLog::open(&format!("{path}-single"), 100, 1).unwrap();
        for i in 0..20 {
            single.write_entry("stdout", format!("line {i}\n").as_bytes(), UNIX_EPOCH).unwrap();
        }
        unsafe { libc::umask(old) };
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let e = entry.unwrap();
            assert_eq!(e.metadata().unwrap().permissions().mode() & 0o777, 0o600, "{:?}", e.file_name());
        }
        std::fs::remove_file(format!("{path}-single")).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, vec!["c-json.log", "c-json.log.1", "c-json.log.2"]);
        for n in &names {
            assert!(std::fs::metadata(dir.join(n)).unwrap().len() <= 200);
        }
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.contains("line 19\\n"), "{last}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(parse_size("10k"), Some(10240));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("x"), None);
    }
}
