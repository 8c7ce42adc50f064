//! The runtime's command line: one table per subcommand (its value options, its boolean
//! flags, whether it takes words), parsed with lexopt. An option a subcommand does not
//! know is an error naming it, never a value taken from the next word. `--key=value` and
//! `--key value` are the same. The standard OCI commands (oci.rs) use the same parser.

use std::collections::HashMap;

/// What follows the options.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Words {
    /// No positional words.
    None,
    /// Any number, options may come between them.
    Any,
    /// A command line: the first word and everything after it, verbatim (`nsexec`).
    Command,
}

/// One subcommand's grammar.
pub struct Grammar {
    pub name: &'static str,
    /// Options that take a value (without the leading `--`).
    pub values: &'static [&'static str],
    /// Boolean flags (without the leading `--`).
    pub flags: &'static [&'static str],
    pub words: Words,
    /// One-letter aliases (`-t` for `tty`), of a value option or a flag.
    pub shorts: &'static [(char, &'static str)],
}

/// The parsed command line: `--key value` pairs, flags (kept as `--flag`), words in order.
#[derive(Debug, Default)]
pub struct Args {
    pub opts: HashMap<String, String>,
    pub flags: Vec<String>,
    pub words: Vec<String>,
    /// Every value option in order, repeats included (`--env A --env B`).
    pub pairs: Vec<(String, String)>,
}

impl Args {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.opts.get(k).map(|s| s.as_str())
    }
    pub fn has(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
    pub fn require(&self, k: &str) -> &str {
        match self.get(k) {
            Some(v) => v,
            None => crate::fail(&format!("missing --{k}"), 125),
        }
    }
    pub fn userns_pid(&self) -> Option<i32> {
        self.get("userns-pid").map(|p| p.parse().unwrap_or_else(|_| crate::fail(&format!("invalid --userns-pid {p:?}"), 125)))
    }
}

/// Parse `argv` (the words after the subcommand) by `g`.
/// Print a line on stdout as `println!` does, except when the reader is gone (`ncx-runtime
/// features | head`: EPIPE). Rust ignores SIGPIPE, so `println!` would panic there; this ends
/// the process as SIGPIPE ends other command-line tools (runc, coreutils): quietly, by that
/// signal (status 141 in a shell). Any other write error is reported and exits 1.
pub fn out(text: impl std::fmt::Display) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
            libc::_exit(128 + libc::SIGPIPE);
        },
        Err(e) => crate::fail(&format!("write to stdout: {e}"), 1),
    }
}

pub fn parse(g: &Grammar, argv: &[String]) -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut a = Args::default();
    let mut p = lexopt::Parser::from_args(argv.iter().cloned());
    let text = |v: std::ffi::OsString| v.into_string().map_err(|_| format!("{}: an argument is not valid UTF-8", g.name));
    while let Some(arg) = p.next().map_err(|e| format!("{}: {e}", g.name))? {
        let arg = match arg {
            Short(c) => match g.shorts.iter().find(|(s, _)| *s == c) {
                Some((_, long)) => Long(long),
                None => return Err(format!("{}: unknown option {}", g.name, describe(&arg))),
            },
            other => other,
        };
        match arg {
            Short(_) => unreachable!(),
            Long(k) if g.values.contains(&k) => {
                let k = k.to_string();
                let v = text(p.value().map_err(|_| format!("{}: --{k} needs a value", g.name))?)?;
                a.pairs.push((k.clone(), v.clone()));
                a.opts.insert(k, v);
            }
            Long(k) if g.flags.contains(&k) => {
                let k = format!("--{k}");
                if p.optional_value().is_some() {
                    return Err(format!("{}: {k} takes no value", g.name));
                }
                a.flags.push(k);
            }
            Long(_) => return Err(format!("{}: unknown option {}", g.name, describe(&arg))),
            Value(v) => match g.words {
                Words::None => return Err(format!("{}: unexpected argument {:?}", g.name, v.to_string_lossy())),
                Words::Any => a.words.push(text(v)?),
                Words::Command => {
                    a.words.push(text(v)?);
                    for rest in p.raw_args().map_err(|e| e.to_string())? {
                        a.words.push(text(rest)?);
                    }
                }
            },
        }
    }
    Ok(a)
}

fn describe(arg: &lexopt::Arg) -> String {
    match arg {
        lexopt::Arg::Long(k) => format!("--{k}"),
        lexopt::Arg::Short(c) => format!("-{c}"),
        lexopt::Arg::Value(v) => format!("{v:?}"),
    }
}

macro_rules! grammar {
    ($name:literal, [$($v:expr),* $(,)?], [$($f:literal),* $(,)?], $w:ident) => {
        Grammar { name: $name, values: &[$($v),*], flags: &[$($f),*], words: Words::$w, shorts: &[] }
    };
}

/// ncx's private subcommands (the TypeScript engine's callers: src/engine/**).
pub const PRIVATE: &[Grammar] = &[
    grammar!("init", ["state-fd"], [], None),
    grammar!("probe", ["state-fd"], [], None),
    Grammar {
        name: "run",
        values: &[
            "bundle", "userns-pid", "rootfs-mount", "status-fd", "cleanup", "state", "log-path", "log-max-size", "log-max-file", "shm-from",
            "publish", "port-bypass", "net-ifs", "net-mtu", "net-netns", "net-slirp", "net-join", "ns-join", "events", "event-template",
            "exit-command", "oci-runtime", "oci-runtime-name", "oci-root",
        ],
        flags: &["no-stdin", "host-loopback"],
        words: Words::None,
        shorts: &[],
    },
    Grammar {
        name: "monitor",
        values: &[
            "bundle", "userns-pid", "rootfs-mount", "status-fd", "state", "log-path", "log-max-size", "log-max-file", "shm-from", "restart",
            "health-cmd", "health-interval-ms", "health-timeout-ms", "health-start-period-ms", "health-start-interval-ms", "health-retries",
            "exit-command", "publish", "port-bypass", "net-ifs", "net-mtu", "net-netns", "net-slirp", "net-join", "ns-join", "events",
            "event-template", "oci-runtime", "oci-runtime-name", "oci-root",
        ],
        flags: &["no-stdin", "host-loopback", "stdin-open", "stdin-once", "cleanup-bundle", "attach-wait"],
        words: Words::None,
        shorts: &[],
    },
    grammar!("attach", ["bundle", "status-fd", "detach-keys", "resize-fd"], ["no-stdin", "sig-proxy", "tty"], None),
    grammar!("netns-init", ["userns-pid", "state", "slirp"], ["host-loopback"], None),
    grammar!("nsexec", ["userns-pid", "netns"], [], Command),
    grammar!("net-attach", ["userns-pid", "pid", "net-ifs", "net-mtu", "net-netns"], [], None),
    grammar!("exec", ["pid", "process", "process-fd", "status-fd", "config", "detach-keys", "resize-fd"], ["no-stdin", "detach", "cgroup-strict"], None),
    grammar!("stop", ["pid", "signal", "timeout-ms", "monitor-pid"], [], None),
    grammar!("ps", ["pid"], [], None),
    grammar!("cgroup-update", ["dir", "resources"], [], None),
    grammar!("userns-init", ["uid-map", "gid-map", "adopt", "inode"], ["no-helpers"], None),
    grammar!("unpack", ["userns-pid", "dest", "file", "xattr-prefix"], [], None),
    grammar!("rmtree", ["userns-pid"], [], Any),
    grammar!("materialize", ["userns-pid", "dest", "xattr-prefix"], [], Any),
    grammar!("probe-overlay", ["userns-pid", "dir"], ["userxattr"], None),
    grammar!("layer-diff", ["userns-pid", "upper", "xattr-prefix"], [], Any),
    grammar!("layer-tar", ["userns-pid", "upper", "xattr-prefix", "exclude-empty"], [], Any),
    grammar!("export", ["userns-pid", "root", "mountpoint"], [], None),
    grammar!("cp", ["userns-pid", "src-root", "src", "dst-root", "dst", "mountpoint", "follow-link", "xattr-prefix"], [], None),
    grammar!("copy-up", ["userns-pid", "root", "mountpoint", "upper", "xattr-prefix"], [], Any),
    grammar!("shift-layer", ["userns-pid", "src", "dest", "uid-map", "gid-map", "xattr-prefix"], [], None),
    grammar!("du", ["userns-pid"], [], Any),
    grammar!("build-list", ["userns-pid"], [], None),
    grammar!("build-copy", ["userns-pid"], [], None),
    grammar!("build-layer", ["userns-pid", "upper", "work", "stubs", "xattr-prefix"], [], Any),
    grammar!("version", [], [], None),
];

/// The grammar of a private subcommand.
pub fn private(name: &str) -> Option<&'static Grammar> {
    PRIVATE.iter().find(|g| g.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn private_parse(cmd: &str, line: &str) -> Result<Args, String> {
        parse(private(cmd).unwrap(), &argv(line))
    }

    #[test]
    fn an_unknown_option_is_an_error_not_a_value_swallowed() {
        let e = private_parse("run", "--bundel /b --status-fd 3").unwrap_err();
        assert!(e.contains("unknown option --bundel"), "{e}");
        // The old parser took "--no-stdn" as a key and the next word as its value.
        let e = private_parse("run", "--bundle /b --no-stdn --status-fd 3").unwrap_err();
        assert!(e.contains("--no-stdn"), "{e}");
        assert!(private_parse("stop", "--pid 1 -s 9").unwrap_err().contains("-s"));
    }

    #[test]
    fn values_flags_and_equals_forms() {
        let a = private_parse("run", "--bundle=/b --status-fd 3 --no-stdin --state /s").unwrap();
        assert_eq!(a.get("bundle"), Some("/b"));
        assert_eq!(a.get("status-fd"), Some("3"));
        assert_eq!(a.get("state"), Some("/s"));
        assert!(a.has("--no-stdin"));
        assert!(!a.has("--host-loopback"));
        assert!(private_parse("run", "--no-stdin=1").unwrap_err().contains("takes no value"));
        assert!(private_parse("run", "--bundle").unwrap_err().contains("--bundle needs a value"));
    }

    #[test]
    fn a_value_may_start_with_a_dash() {
        let a = private_parse("stop", "--pid 7 --signal -9").unwrap();
        assert_eq!(a.get("signal"), Some("-9"));
    }

    #[test]
    fn words_only_where_the_command_takes_them() {
        assert!(private_parse("run", "--bundle /b extra").unwrap_err().contains("unexpected argument"));
        let a = private_parse("rmtree", "--userns-pid 5 /a /b").unwrap();
        assert_eq!(a.words, vec!["/a", "/b"]);
        assert_eq!(a.userns_pid(), Some(5));
    }

    #[test]
    fn nsexec_takes_the_command_verbatim() {
        let a = private_parse("nsexec", "--netns /proc/1/ns/net nft -f - --check").unwrap();
        assert_eq!(a.get("netns"), Some("/proc/1/ns/net"));
        assert_eq!(a.words, vec!["nft", "-f", "-", "--check"]);
    }

    #[test]
    fn every_private_command_has_one_grammar() {
        for g in PRIVATE {
            assert_eq!(PRIVATE.iter().filter(|o| o.name == g.name).count(), 1, "{}", g.name);
            for v in g.values {
                assert!(!g.flags.contains(v), "{}: {v} is both", g.name);
            }
        }
    }
}
