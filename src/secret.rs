//! A wrapper for secret values: private keys, project secrets.
//!
//! `Debug` prints a placeholder and there is no `Display`, so a secret cannot end up in a log
//! line, an Event or an error message by accident. The value serializes as itself because it has
//! to reach the Stytch API in request bodies.

use serde::{Deserialize, Serialize};

/// A secret string. Read it with [`SecretString::expose`], only where it is sent.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretString::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn serializes_transparently_for_request_bodies() {
        let s = SecretString::new("k");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"k\"");
    }
}
