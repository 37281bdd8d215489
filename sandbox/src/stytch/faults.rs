//! Fault injection rules: for requests whose path matches (prefix, or glob with `*`/`?`) and
//! whose method matches, add latency, answer a given status / error type, or drop the
//! connection without a response or in the middle of one (after the request took effect) —
//! for the next N matching requests and/or with a probability drawn from a seeded
//! (deterministic) RNG.

use std::time::Duration;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// A fault rule. Only `path` is required; a rule with neither `status`, `error_type`,
/// `drop_connection` nor `reset_mid_response` only adds latency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultRule {
    /// Assigned by the sandbox when empty (`fault-1`, `fault-2`, ...).
    pub id: String,
    /// Path prefix (e.g. `/v1/b2b/sso/saml`), or a glob when it contains `*` or `?`
    /// (`*` also matches `/`). Matched against the raw, percent-encoded path.
    pub path: String,
    /// HTTP method (case-insensitive); `None` = any.
    pub method: Option<String>,
    /// Status to answer; defaults to 500 when only `error_type` is set.
    pub status: Option<u16>,
    /// `error_type` of the answer; defaults from the status (429 → `too_many_requests`, ...).
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// Delay before acting (or before passing the request on).
    pub latency_ms: u64,
    /// Delay after a passed-on request was served, before answering: the change is made but
    /// the client does not know yet (a client that dies meanwhile never learns of it).
    pub latency_after_ms: u64,
    /// Close the connection without any response.
    pub drop_connection: bool,
    /// Serve the request (its effect applies), send the status line, the headers (with the
    /// full `Content-Length`) and half of the body, then close the connection: a reset in the
    /// middle of a response the client cannot tell from a failed request.
    pub reset_mid_response: bool,
    /// Remaining number of times the rule fires; `None` = unlimited. Removed at 0.
    pub times: Option<u32>,
    /// Probability (0..=1) that a matching request triggers the rule; `None` = always.
    pub probability: Option<f64>,
    /// How many times the rule fired (output only).
    pub hits: u64,
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Serve it normally (after the latency).
    Pass,
    /// Answer this error.
    Respond(ApiError),
    /// Close the connection.
    Drop,
    /// Serve it, then cut the response off after half of its body.
    ResetMidResponse,
}

/// A fired rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub rule_id: String,
    pub latency: Duration,
    /// Delay between serving a passed-on request and answering.
    pub latency_after: Duration,
    pub outcome: Outcome,
}

/// The rule set.
#[derive(Debug)]
pub struct Faults {
    rules: Vec<FaultRule>,
    rng: StdRng,
    next_id: u64,
}

/// Glob match where `*` matches any run of characters (including `/`) and `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn default_error_type(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized_credentials",
        403 => "unauthorized_action",
        404 => "route_not_found",
        429 => "too_many_requests",
        _ => "internal_server_error",
    }
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = if self.path.contains(['*', '?']) {
            glob_match(&self.path, path)
        } else {
            path.starts_with(&self.path)
        };
        method_ok && path_ok
    }

    fn outcome(&self) -> Outcome {
        if self.drop_connection {
            return Outcome::Drop;
        }
        if self.reset_mid_response {
            return Outcome::ResetMidResponse;
        }
        if self.status.is_none() && self.error_type.is_none() {
            return Outcome::Pass;
        }
        let code = self.status.unwrap_or(500);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error_type = self
            .error_type
            .clone()
            .unwrap_or_else(|| default_error_type(code).to_owned());
        let message = self
            .error_message
            .clone()
            .unwrap_or_else(|| format!("injected fault {}", self.id));
        Outcome::Respond(ApiError::new(status, &error_type, message))
    }
}

impl Faults {
    /// An empty rule set with a seeded RNG.
    pub fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            next_id: 0,
        }
    }

    /// Adds a rule (assigning an id when empty) and returns it.
    pub fn add(&mut self, mut rule: FaultRule) -> FaultRule {
        if rule.id.is_empty() {
            self.next_id += 1;
            rule.id = format!("fault-{}", self.next_id);
        }
        rule.hits = 0;
        self.rules.push(rule.clone());
        rule
    }

    /// Current rules.
    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// Removes all rules; reseeds the RNG when a seed is given.
    pub fn clear(&mut self, reseed: Option<u64>) {
        self.rules.clear();
        if let Some(seed) = reseed {
            self.rng = StdRng::seed_from_u64(seed);
        }
    }

    /// Removes one rule; `false` if unknown.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        self.rules.len() != before
    }

    /// The first matching rule that fires for this request, if any.
    pub fn evaluate(&mut self, method: &str, path: &str) -> Option<Decision> {
        let mut fired = None;
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if !rule.matches(method, path) {
                continue;
            }
            if let Some(p) = rule.probability
                && self.rng.random::<f64>() >= p
            {
                continue;
            }
            rule.hits += 1;
            if let Some(times) = rule.times.as_mut() {
                *times = times.saturating_sub(1);
            }
            fired = Some((i, rule.clone()));
            break;
        }
        let (i, rule) = fired?;
        if rule.times == Some(0) {
            self.rules.remove(i);
        }
        Some(Decision {
            rule_id: rule.id.clone(),
            latency: Duration::from_millis(rule.latency_ms),
            latency_after: Duration::from_millis(rule.latency_after_ms),
            outcome: rule.outcome(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_prefix() {
        assert!(glob_match(
            "/v1/b2b/sso/saml/*/connections/*",
            "/v1/b2b/sso/saml/o/connections/c"
        ));
        assert!(glob_match(
            "/v1/*/url",
            "/v1/b2b/sso/saml/o/connections/c/url"
        ));
        assert!(!glob_match("/v1/*/url", "/v1/b2b/sso/saml/o/connections/c"));
        assert!(glob_match("/v?/x", "/v1/x"));
        let rule = FaultRule {
            path: "/v1/b2b/sso/saml".into(),
            method: Some("put".into()),
            ..FaultRule::default()
        };
        assert!(rule.matches("PUT", "/v1/b2b/sso/saml/o"));
        assert!(!rule.matches("GET", "/v1/b2b/sso/saml/o"));
        assert!(!rule.matches("PUT", "/v1/b2b/sso/o"));
    }

    #[test]
    fn times_and_probability_are_deterministic() {
        let mut f = Faults::new(7);
        f.add(FaultRule {
            path: "/".into(),
            status: Some(503),
            times: Some(2),
            ..FaultRule::default()
        });
        assert!(f.evaluate("GET", "/a").is_some());
        assert!(f.evaluate("GET", "/a").is_some());
        assert!(f.evaluate("GET", "/a").is_none());
        assert!(f.list().is_empty());

        f.add(FaultRule {
            path: "/".into(),
            reset_mid_response: true,
            times: Some(1),
            ..FaultRule::default()
        });
        let fired = f.evaluate("POST", "/a").map(|d| d.outcome);
        assert_eq!(fired, Some(Outcome::ResetMidResponse));
        assert!(f.evaluate("POST", "/a").is_none());

        let run = |seed| {
            let mut f = Faults::new(seed);
            f.add(FaultRule {
                path: "/".into(),
                probability: Some(0.5),
                status: Some(500),
                ..FaultRule::default()
            });
            (0..64)
                .map(|_| f.evaluate("GET", "/").is_some())
                .collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        let fired = a.iter().filter(|x| **x).count();
        assert!((10..54).contains(&fired), "fired {fired}/64");
    }
}
