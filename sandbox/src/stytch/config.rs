//! Sandbox configuration: listen address, seed (projects, organizations, connections), rate
//! limit and behaviour toggles for the points the reference leaves open.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::error::SandboxError;
use super::model::SamlConnection;

/// Behaviour toggles for the points where Stytch's behaviour is unknown (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// `true` (default): `""`, `[]` and `{}` in an update clear the field.
    /// `false`: empty values are ignored, like omitted fields.
    pub empty_values_clear: bool,
    /// `true` (default): uploading a certificate (or encryption key) whose DER is already present
    /// adds nothing. `false`: a duplicate entry with a new id is added.
    pub dedupe_certificates: bool,
    /// `true` (default in the sandbox): update-by-URL may fetch `http://` metadata URLs.
    /// `false`: only `https://` URLs are accepted (like real Stytch, presumably).
    pub allow_http_metadata: bool,
    /// Maximum number of verification certificates per connection (Stytch documents 5).
    pub max_verification_certificates: usize,
    /// Maximum number of encryption private keys per connection (undocumented; default 5).
    pub max_encryption_private_keys: usize,
    /// Timeout of the metadata fetch in update-by-URL, in milliseconds.
    pub metadata_fetch_timeout_ms: u64,
    /// Extra CA certificate (PEM) trusted when fetching metadata over https, e.g. the
    /// self-signed certificate of a local test IdP.
    pub metadata_trusted_ca_pem: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            empty_values_clear: true,
            dedupe_certificates: true,
            allow_http_metadata: true,
            max_verification_certificates: 5,
            max_encryption_private_keys: 5,
            metadata_fetch_timeout_ms: 5_000,
            metadata_trusted_ca_pem: None,
        }
    }
}

/// Seed: the whole initial state. Same schema in YAML (CLI `--seed`) and JSON (`POST /__sandbox/seed`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seed {
    pub projects: Vec<SeedProject>,
    /// Requests per second per project; `0` or absent = unlimited.
    pub rate_limit_per_second: Option<u32>,
    /// Behaviour toggles; absent = keep the current ones.
    pub behaviour: Option<Behaviour>,
}

/// A project: Basic-auth credentials plus its organizations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedProject {
    pub project_id: String,
    pub secret: String,
    pub organizations: Vec<SeedOrganization>,
}

/// An organization, addressable by id, slug or external id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedOrganization {
    pub organization_id: String,
    pub organization_slug: String,
    pub organization_external_id: Option<String>,
    /// Pre-existing SAML connections. Any field may be left out: ids, `acs_url`/`audience_uri`,
    /// `status`, certificate ids/issuers/dates and `nameid_format` are filled in.
    #[serde(alias = "connections")]
    pub saml_connections: Vec<SamlConnection>,
}

impl Seed {
    /// Parses a YAML seed file's contents.
    pub fn from_yaml(text: &str) -> Result<Self, SandboxError> {
        serde_saphyr::from_str(text).map_err(|e| SandboxError::Yaml(e.to_string()))
    }

    /// Parses a JSON seed.
    pub fn from_json(text: &str) -> Result<Self, SandboxError> {
        Ok(serde_json::from_str(text)?)
    }

    /// A seed with one project and one organization (handy in tests).
    pub fn single(project_id: &str, secret: &str, organization_id: &str, slug: &str) -> Self {
        Self {
            projects: vec![SeedProject {
                project_id: project_id.to_owned(),
                secret: secret.to_owned(),
                organizations: vec![SeedOrganization {
                    organization_id: organization_id.to_owned(),
                    organization_slug: slug.to_owned(),
                    ..SeedOrganization::default()
                }],
            }],
            ..Seed::default()
        }
    }
}

/// Configuration of [`super::StytchSandbox::start`].
#[derive(Clone, Debug)]
pub struct StytchConfig {
    /// Loopback address to listen on; port `0` picks a free port (see `base_url()`).
    pub listen: SocketAddr,
    /// Initial state.
    pub seed: Seed,
    /// Requests per second per project; `0` = unlimited. A seed's own value wins when set.
    pub rate_limit_per_second: u32,
    /// Add `Retry-After: <seconds>` to 429 answers (off by default: Stytch doesn't document it).
    pub retry_after: bool,
    /// Behaviour toggles (a seed's `behaviour` replaces these).
    pub behaviour: Behaviour,
    /// Base of the generated `acs_url`/`audience_uri`; default: the sandbox's own base URL.
    pub public_base_url: Option<String>,
    /// Seed of the RNG used by probabilistic fault rules (deterministic runs).
    pub fault_rng_seed: u64,
}

impl Default for StytchConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Seed::default(),
            rate_limit_per_second: 0,
            retry_after: false,
            behaviour: Behaviour::default(),
            public_base_url: None,
            fault_rng_seed: 0x5717_c400,
        }
    }
}

impl StytchConfig {
    /// Default configuration with the given seed.
    pub fn with_seed(seed: Seed) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }
}
