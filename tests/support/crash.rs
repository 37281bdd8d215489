//! Helpers for tests that run the real operator binary and SIGKILL it: spawning, timing Stytch
//! calls against a kill, and telling apart which process made a Stytch request.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sandbox::stytch::requestlog::LogEntry;

use crate::support::Env;

/// The operator binary: `$OPERATOR_BIN` when set, else the one Cargo built for this test
/// profile (`cargo test --release` runs the release binary).
pub fn operator_binary() -> PathBuf {
    std::env::var_os("OPERATOR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_stytch-saml-operator")))
}

/// Starts the real binary against the sandboxes with extra flags and `POD_NAME=pod`. Its
/// stderr goes to `$OPERATOR_LOG_DIR/<pod>.log` when that is set (for debugging), else nowhere.
pub fn spawn_binary(env: &Env, pod: &str, extra: &[&str]) -> tokio::process::Child {
    let stderr = match std::env::var_os("OPERATOR_LOG_DIR") {
        Some(dir) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(PathBuf::from(dir).join(format!("{pod}.log")))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null()),
        None => Stdio::null(),
    };
    tokio::process::Command::new(operator_binary())
        .args(["run", "--metrics-addr", "127.0.0.1:0"])
        .arg("--kubeconfig")
        .arg(&env.operator_kubeconfig)
        .args(extra)
        .env("POD_NAME", pod)
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("operator binary starts")
}

/// Polls `check` every 10 ms until it holds; `false` after `within`.
pub async fn poll(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Milliseconds since the Unix epoch, on the clock the Stytch sandbox log uses.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A sandbox log time (RFC 3339) in milliseconds since the epoch.
pub fn log_ms(rfc3339: &str) -> Option<i64> {
    rfc3339
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// A request's window `[started, answered]` in epoch milliseconds; answered is `None` while it
/// is in flight or when the client went away before the answer.
pub fn window(entry: &LogEntry) -> (i64, Option<i64>) {
    (
        log_ms(&entry.started).unwrap_or(i64::MAX),
        log_ms(&entry.timestamp),
    )
}

/// Write requests (answered, abandoned or still in flight) whose window contains `at_ms`.
pub fn writes_spanning(env: &Env, at_ms: i64) -> Vec<LogEntry> {
    let admin = env.stytch.admin();
    admin
        .requests()
        .into_iter()
        .chain(admin.abandoned())
        .chain(admin.in_flight())
        .filter(|e| e.write)
        .filter(|e| {
            let (start, end) = window(e);
            start <= at_ms && end.is_none_or(|end| end >= at_ms)
        })
        .collect()
}

/// Local TCP ports of the sockets a process holds open (Linux: `/proc/<pid>/fd` and
/// `/proc/net/tcp{,6}`).
pub fn local_ports(pid: u32) -> Vec<u16> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let inodes: Vec<String> = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_owned)
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (cols.get(1), cols.get(9)) else {
                continue;
            };
            if !inodes.iter().any(|i| i == inode) {
                continue;
            }
            if let Some(port) = local
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok())
            {
                ports.push(port);
            }
        }
    }
    ports
}

/// Which process owned which client port, learned by sampling `/proc` while they run: a
/// connection lives at least as long as the request it carries, so sampling every few
/// milliseconds sees every connection that carried a slow (latency-injected) request.
#[derive(Clone, Debug, Default)]
pub struct PortOwners {
    owners: HashMap<u16, String>,
    /// Ports seen held by two processes (a port reused after one closed it).
    pub conflicts: Vec<u16>,
}

impl PortOwners {
    /// Records the ports each `(name, pid)` holds now.
    pub fn sample(&mut self, processes: &[(String, u32)]) {
        for (name, pid) in processes {
            for port in local_ports(*pid) {
                let previous = self.owners.insert(port, name.clone());
                if previous.is_some_and(|p| &p != name) {
                    self.conflicts.push(port);
                }
            }
        }
    }

    /// The process that sent a logged request, by its client port.
    pub fn owner(&self, entry: &LogEntry) -> Option<&str> {
        let port: u16 = entry.peer.as_deref()?.rsplit(':').next()?.parse().ok()?;
        self.owners.get(&port).map(String::as_str)
    }
}
