//! Fetching IdP metadata over https: allow-listed hosts, bounded redirects, size and time.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::redirect;
use sha2::{Digest, Sha256};
use url::Url;

use super::parse::{MetadataError, parse_metadata};
use crate::reconcile::Reason;
use crate::reconcile::desired::IdpMetadata;

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 3;

/// Limits applied to every metadata fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Total time for connecting, redirects and reading the body.
    pub timeout: Duration,
    /// Largest accepted body, in bytes.
    pub max_bytes: usize,
    /// Hosts that may be contacted (initially and after redirects); `None` allows any.
    /// Entries match exactly (case-insensitive); `*.example.com` matches any subdomain of
    /// `example.com` (not `example.com` itself).
    pub allowed_hosts: Option<Vec<String>>,
    /// Accept plain `http` URLs. Only tests set this, for a loopback server.
    pub allow_http_for_tests: bool,
    /// Extra trusted root certificates (DER), e.g. a private CA.
    pub extra_root_certificates: Vec<Vec<u8>>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_bytes: 1024 * 1024,
            allowed_hosts: None,
            allow_http_for_tests: false,
            extra_root_certificates: Vec::new(),
        }
    }
}

/// Metadata as fetched, with its digest and parse.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedMetadata {
    pub body: Vec<u8>,
    /// SHA-256 of `body`, lowercase hex without colons.
    pub sha256: String,
    pub fetched_at: Timestamp,
    pub metadata: IdpMetadata,
}

/// Why metadata could not be fetched. Messages never include response bodies or query strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the HTTP client cannot be built: {0}")]
    Config(String),
    #[error("the metadata URL is not a valid absolute URL")]
    InvalidUrl,
    #[error("the metadata URL must use https, not `{0}`")]
    NotHttps(String),
    #[error("the host `{0}` is not among the allowed metadata hosts")]
    HostNotAllowed(String),
    #[error("a redirect was refused: {0}")]
    RedirectRefused(Box<FetchError>),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the request failed: {0}")]
    Transport(String),
    #[error("the metadata server answered HTTP {0}")]
    Status(u16),
    #[error("the metadata is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

impl FetchError {
    /// The condition reason for this error.
    pub fn reason(&self) -> Reason {
        match self {
            Self::NotHttps(_) => Reason::MetadataUrlNotHttps,
            Self::HostNotAllowed(_) => Reason::MetadataHostNotAllowed,
            Self::RedirectRefused(inner) => inner.reason(),
            Self::Metadata(e) => e.reason(),
            Self::TooLarge { .. } => Reason::MetadataInvalidFormat,
            Self::Config(_)
            | Self::InvalidUrl
            | Self::TooManyRedirects
            | Self::Timeout(_)
            | Self::Transport(_)
            | Self::Status(_) => Reason::MetadataUrlInvalid,
        }
    }

    /// True when retrying later may succeed without a spec change (network trouble, server
    /// errors, rate limiting).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::Status(code) => *code == 408 || *code == 429 || *code >= 500,
            _ => false,
        }
    }
}

/// Fetches and parses IdP metadata under a [`FetchPolicy`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MetadataFetcher {
    http: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl MetadataFetcher {
    /// Builds the HTTP client (rustls, custom redirect policy).
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder();
        for der in &policy.extra_root_certificates {
            let cert = reqwest::Certificate::from_der(der)
                .map_err(|e| FetchError::Config(format!("bad CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let for_redirects = Arc::clone(&policy);
        let redirects = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(FetchError::TooManyRedirects);
            }
            match check_url(&for_redirects, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(FetchError::RedirectRefused(Box::new(e))),
            }
        });
        let http = builder
            .user_agent(concat!("stytch-saml-operator/", env!("CARGO_PKG_VERSION")))
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .redirect(redirects)
            .build()
            .map_err(|e| FetchError::Config(e.to_string()))?;
        Ok(Self { http, policy })
    }

    /// The policy this fetcher applies.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Fetches `url` and parses it. The URL (scheme and host) is checked before connecting.
    pub async fn fetch(&self, url: &str) -> Result<FetchedMetadata, FetchError> {
        let url = Url::parse(url).map_err(|_| FetchError::InvalidUrl)?;
        check_url(&self.policy, &url)?;
        let timeout = self.policy.timeout;
        let body = tokio::time::timeout(timeout, self.download(url))
            .await
            .map_err(|_| FetchError::Timeout(timeout))??;
        let metadata = parse_metadata(&body)?;
        let sha256 = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(FetchedMetadata {
            body,
            sha256,
            fetched_at: Timestamp::now(),
            metadata,
        })
    }

    async fn download(&self, url: Url) -> Result<Vec<u8>, FetchError> {
        let limit = self.policy.max_bytes;
        let mut response = self
            .http
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
            )
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, err: &reqwest::Error) -> FetchError {
        // A refusal from the redirect policy travels inside the reqwest error.
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            if let Some(refused) = s.downcast_ref::<FetchError>() {
                return refused.clone();
            }
            source = s.source();
        }
        if err.is_timeout() {
            return FetchError::Timeout(self.policy.timeout);
        }
        let message = crate::stytch::source_chain(err);
        FetchError::Transport(message.chars().take(300).collect())
    }
}

/// Scheme and host rules, for the first URL and every redirect target.
fn check_url(policy: &FetchPolicy, url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http_for_tests => {}
        other => return Err(FetchError::NotHttps(other.chars().take(20).collect())),
    }
    let host = url.host_str().ok_or(FetchError::InvalidUrl)?;
    if let Some(allowed) = &policy.allowed_hosts
        && !host_allowed(allowed, host)
    {
        return Err(FetchError::HostNotAllowed(host.chars().take(253).collect()));
    }
    Ok(())
}

/// Exact, case-insensitive match, or `*.suffix` for any subdomain of `suffix`.
pub fn host_allowed(allowed: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allowed.iter().any(|pattern| {
        let pattern = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() => host
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
            _ => !pattern.is_empty() && host == pattern,
        }
    })
}

/// Reads a PEM file of CA certificates (e.g. `--metadata-ca-file`) into DER certificates.
pub fn read_ca_file(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let certs: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(&text)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect();
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn host_patterns() {
        let allowed = hosts(&["IdP.Example.com", "*.okta.com"]);
        assert!(host_allowed(&allowed, "idp.example.com"));
        assert!(host_allowed(&allowed, "IDP.EXAMPLE.COM."));
        assert!(host_allowed(&allowed, "acme.okta.com"));
        assert!(host_allowed(&allowed, "a.b.okta.com"));
        assert!(!host_allowed(&allowed, "okta.com"));
        assert!(!host_allowed(&allowed, "evilokta.com"));
        assert!(!host_allowed(&allowed, "x.idp.example.com"));
        assert!(!host_allowed(&allowed, "example.com"));
        assert!(!host_allowed(&hosts(&["*."]), "com"));
        assert!(!host_allowed(&[], "idp.example.com"));
    }

    #[test]
    fn url_rules() {
        let policy = FetchPolicy {
            allowed_hosts: Some(hosts(&["idp.example.com"])),
            ..FetchPolicy::default()
        };
        let check = |u: &str| check_url(&policy, &Url::parse(u).unwrap());
        assert_eq!(check("https://idp.example.com/m"), Ok(()));
        assert_eq!(
            check("http://idp.example.com/m"),
            Err(FetchError::NotHttps("http".into()))
        );
        assert_eq!(
            check("https://other.example.com/m"),
            Err(FetchError::HostNotAllowed("other.example.com".into()))
        );
        assert!(matches!(
            check("file:///etc/passwd"),
            Err(FetchError::NotHttps(_))
        ));
    }

    #[test]
    fn reasons() {
        assert_eq!(
            FetchError::NotHttps("http".into()).reason(),
            Reason::MetadataUrlNotHttps
        );
        assert_eq!(
            FetchError::HostNotAllowed("x".into()).reason(),
            Reason::MetadataHostNotAllowed
        );
        assert_eq!(
            FetchError::Metadata(MetadataError::Xml("x".into())).reason(),
            Reason::MetadataXmlInvalid
        );
        assert!(FetchError::Status(503).is_transient());
        assert!(!FetchError::Status(404).is_transient());
    }

    #[tokio::test]
    async fn bad_urls_fail_before_connecting() {
        let fetcher = MetadataFetcher::new(FetchPolicy::default()).unwrap();
        assert_eq!(
            fetcher.fetch("not a url").await.unwrap_err(),
            FetchError::InvalidUrl
        );
        assert_eq!(
            fetcher.fetch("ftp://idp.example.com/m").await.unwrap_err(),
            FetchError::NotHttps("ftp".into())
        );
    }
}
