//! Project credentials and the API host they imply.

use std::collections::BTreeMap;

use url::Url;

use crate::secret::SecretString;

/// Stytch's live API host.
pub const LIVE_BASE_URL: &str = "https://api.stytch.com";
/// Stytch's test API host.
pub const TEST_BASE_URL: &str = "https://test.stytch.com";

/// Project credentials, read from the credentials Secret.
#[derive(Clone, Debug, PartialEq)]
pub struct Credentials {
    pub project_id: String,
    pub secret: SecretString,
    /// Explicit API base URL (Secret key `base_url`).
    pub base_url: Option<Url>,
}

/// Why a credentials Secret cannot be used. Messages name keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("key `{0}` is missing or empty")]
    MissingKey(&'static str),
    #[error("key `{0}` is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("key `base_url` is not an http(s) URL")]
    InvalidBaseUrl,
}

impl Credentials {
    /// Reads `project_id`, `secret` and optional `base_url` from a Secret's decoded data.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, CredentialsError> {
        let text = |key: &'static str| -> Result<Option<String>, CredentialsError> {
            match data.get(key) {
                None => Ok(None),
                Some(bytes) => {
                    let value = std::str::from_utf8(bytes)
                        .map_err(|_| CredentialsError::NotUtf8(key))?
                        .trim();
                    Ok((!value.is_empty()).then(|| value.to_owned()))
                }
            }
        };
        let project_id = text("project_id")?.ok_or(CredentialsError::MissingKey("project_id"))?;
        let secret = text("secret")?.ok_or(CredentialsError::MissingKey("secret"))?;
        let base_url = match text("base_url")? {
            None => None,
            Some(raw) => {
                let url = Url::parse(&raw).map_err(|_| CredentialsError::InvalidBaseUrl)?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(CredentialsError::InvalidBaseUrl);
                }
                Some(url)
            }
        };
        Ok(Self {
            project_id,
            secret: SecretString::new(secret),
            base_url,
        })
    }

    /// The API base URL: the explicit one, else the official SDKs' rule (`project-live-`
    /// prefix → live host, anything else → test host).
    pub fn resolved_base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.as_str().to_owned(),
            None if self.project_id.starts_with("project-live-") => format!("{LIVE_BASE_URL}/"),
            None => format!("{TEST_BASE_URL}/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn host_follows_the_sdk_prefix_rule() {
        let c = Credentials::from_secret_data(&data(&[
            ("project_id", "project-live-abc"),
            ("secret", "s"),
        ]))
        .unwrap();
        assert_eq!(c.resolved_base_url(), "https://api.stytch.com/");
        for id in ["project-test-abc", "something-else"] {
            let c = Credentials::from_secret_data(&data(&[("project_id", id), ("secret", "s")]))
                .unwrap();
            assert_eq!(c.resolved_base_url(), "https://test.stytch.com/");
        }
    }

    #[test]
    fn explicit_base_url_wins() {
        let c = Credentials::from_secret_data(&data(&[
            ("project_id", "project-live-abc"),
            ("secret", "s"),
            ("base_url", "http://127.0.0.1:8787"),
        ]))
        .unwrap();
        assert_eq!(c.resolved_base_url(), "http://127.0.0.1:8787/");
    }

    #[test]
    fn missing_and_bad_keys_are_named_without_values() {
        let err = Credentials::from_secret_data(&data(&[("secret", "topsecret")])).unwrap_err();
        assert_eq!(err, CredentialsError::MissingKey("project_id"));
        let err = Credentials::from_secret_data(&data(&[("project_id", "p"), ("secret", " ")]))
            .unwrap_err();
        assert_eq!(err, CredentialsError::MissingKey("secret"));
        let err = Credentials::from_secret_data(&data(&[
            ("project_id", "p"),
            ("secret", "topsecret"),
            ("base_url", "ftp://x"),
        ]))
        .unwrap_err();
        assert_eq!(err, CredentialsError::InvalidBaseUrl);
        assert!(!err.to_string().contains("topsecret"));
    }

    #[test]
    fn debug_redacts_the_secret() {
        let c = Credentials::from_secret_data(&data(&[
            ("project_id", "project-test-x"),
            ("secret", "secret-test-zzzzzz"),
        ]))
        .unwrap();
        assert!(!format!("{c:?}").contains("secret-test-zzzzzz"));
    }
}
