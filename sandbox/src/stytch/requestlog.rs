//! Request log and counters, read by tests through `/__sandbox/requests` or the admin client
//! (e.g. to assert that a reconcile made zero writes).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Entries kept before the oldest are dropped (counters keep counting).
const MAX_ENTRIES: usize = 100_000;

/// One Stytch API request as the sandbox saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// 1, 2, 3, ... since start or the last clear.
    pub seq: u64,
    /// When the answer was ready (RFC 3339 with milliseconds).
    pub timestamp: String,
    /// When the request arrived (RFC 3339 with milliseconds).
    #[serde(default)]
    pub started: String,
    /// The client's socket address (`127.0.0.1:54321`): tells apart the processes calling.
    #[serde(default)]
    pub peer: Option<String>,
    pub method: String,
    /// Raw (still percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    /// Endpoint name, see [`classify`].
    pub endpoint: String,
    /// HTTP status answered; `0` when the connection was dropped by a fault rule.
    pub status: u16,
    /// Project of the Basic-auth username, when one was sent.
    pub project_id: Option<String>,
    /// `true` for POST/PUT/PATCH/DELETE (whatever the outcome).
    pub write: bool,
    /// Id of the fault rule that acted on the request, if any.
    pub fault_rule: Option<String>,
}

/// Counters since start or the last clear.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    pub total: u64,
    pub writes: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub by_method: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
}

/// The log.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<LogEntry>,
    counters: Counters,
    next_seq: u64,
    /// Requests being served, by a token from [`RequestLog::begin`].
    in_flight: BTreeMap<u64, LogEntry>,
    next_token: u64,
    /// Requests whose client went away before the answer (the sandbox stopped serving them).
    abandoned: Vec<LogEntry>,
}

impl RequestLog {
    /// Notes a request that arrived (`status` 0 until answered); returns its token.
    pub fn begin(&mut self, entry: LogEntry) -> u64 {
        self.next_token += 1;
        self.in_flight.insert(self.next_token, entry);
        self.next_token
    }

    /// Forgets an answered request (recorded with [`RequestLog::record`]).
    pub fn end(&mut self, token: u64) {
        self.in_flight.remove(&token);
    }

    /// Moves a request whose client went away from in-flight to abandoned, with the time that
    /// was noticed and the status of the change when one was made before (`0`: none).
    pub fn abandon(&mut self, token: u64, status: u16, timestamp: String) {
        if let Some(mut entry) = self.in_flight.remove(&token)
            && self.abandoned.len() < MAX_ENTRIES
        {
            entry.status = status;
            entry.timestamp = timestamp;
            self.abandoned.push(entry);
        }
    }

    /// Requests being served now, oldest first.
    pub fn in_flight(&self) -> Vec<LogEntry> {
        self.in_flight.values().cloned().collect()
    }

    /// Requests whose client went away before the answer, oldest first.
    pub fn abandoned(&self) -> Vec<LogEntry> {
        self.abandoned.clone()
    }

    /// Records a request.
    pub fn record(&mut self, mut entry: LogEntry) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        let c = &mut self.counters;
        c.total += 1;
        c.writes += u64::from(entry.write);
        *c.by_endpoint.entry(entry.endpoint.clone()).or_default() += 1;
        *c.by_method.entry(entry.method.clone()).or_default() += 1;
        *c.by_status.entry(entry.status.to_string()).or_default() += 1;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// All kept entries, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries.iter().cloned().collect()
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters.clone()
    }

    /// Forgets entries and counters (tokens keep counting so open requests stay distinct).
    pub fn clear(&mut self) {
        *self = Self {
            next_token: self.next_token,
            ..Self::default()
        };
    }
}

/// Whether a method changes state.
pub fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// Names the Stytch endpoint of a request (operation names of the SDKs):
/// `create_connection`, `update_connection`, `update_by_url`,
/// `delete_verification_certificate`, `delete_encryption_private_key`, `get_connections`,
/// `delete_connection`; `unknown` otherwise.
pub fn classify(method: &str, path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix("/v1/b2b/sso/") else {
        return "unknown";
    };
    let seg: Vec<&str> = rest.split('/').collect();
    match (method, seg.as_slice()) {
        ("POST", ["saml", _]) => "create_connection",
        ("PUT", ["saml", _, "connections", _]) => "update_connection",
        ("PUT", ["saml", _, "connections", _, "url"]) => "update_by_url",
        ("DELETE", ["saml", _, "connections", _, "verification_certificates", _]) => {
            "delete_verification_certificate"
        }
        ("DELETE", ["saml", _, "connections", _, "encryption_private_keys", _]) => {
            "delete_encryption_private_key"
        }
        ("GET", [_]) => "get_connections",
        ("DELETE", [_, "connections", _]) => "delete_connection",
        _ => "unknown",
    }
}
