//! Wire types of the Stytch B2B SAML API (reference §3): the `SAMLConnection` object, its
//! certificates and keys, and the request bodies of the seven endpoints.
//!
//! Every field that the official SDKs declare as required is always serialised, with `""`,
//! `[]` or `{}` when unset, so strict clients (the Python SDK's pydantic models) accept it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Default `nameid_format` of a new connection (reference §2.2).
pub const DEFAULT_NAMEID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// The 15 accepted `identity_provider` values (reference §3.4).
pub const IDENTITY_PROVIDERS: [&str; 15] = [
    "classlink",
    "cyberark",
    "duo",
    "generic",
    "google-workspace",
    "jumpcloud",
    "keycloak",
    "miniorange",
    "microsoft-entra",
    "okta",
    "onelogin",
    "pingfederate",
    "rippling",
    "salesforce",
    "shibboleth",
];

/// Connection status values.
pub const STATUS_PENDING: &str = "pending";
/// Connection status once all four activation prerequisites are set.
pub const STATUS_ACTIVE: &str = "active";

/// A SAML connection exactly as the API returns it (reference §3).
///
/// Also used in seeds and out-of-band edits, where every field is optional (`#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamlConnection {
    pub organization_id: String,
    pub connection_id: String,
    pub status: String,
    pub idp_entity_id: String,
    pub display_name: String,
    pub idp_sso_url: String,
    pub acs_url: String,
    pub audience_uri: String,
    pub signing_certificates: Vec<X509Certificate>,
    pub verification_certificates: Vec<X509Certificate>,
    pub encryption_private_keys: Vec<EncryptionPrivateKey>,
    pub saml_connection_implicit_role_assignments: Vec<RoleAssignment>,
    pub saml_group_implicit_role_assignments: Vec<GroupRoleAssignment>,
    pub alternative_audience_uri: String,
    pub identity_provider: String,
    pub nameid_format: String,
    pub alternative_acs_url: String,
    pub idp_initiated_auth_disabled: bool,
    pub allow_gateway_callback: bool,
    pub attribute_mapping: Map<String, Value>,
}

/// An X.509 certificate entry (`signing_certificates` / `verification_certificates`, §3.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct X509Certificate {
    pub certificate_id: String,
    pub certificate: String,
    pub issuer: String,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An entry of `encryption_private_keys` (§3.6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncryptionPrivateKey {
    pub private_key_id: String,
    pub private_key: String,
    pub created_at: Option<String>,
}

/// `{ "role_id": ... }` (§3.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleAssignment {
    pub role_id: String,
}

/// `{ "role_id": ..., "group": ... }` (§3.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupRoleAssignment {
    pub role_id: String,
    pub group: String,
}

/// Body of `POST /v1/b2b/sso/saml/{organization_id}` (§2.1). Unknown fields are ignored.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateConnectionBody {
    pub display_name: Option<String>,
    pub identity_provider: Option<String>,
}

/// Body of `PUT .../connections/{connection_id}` (§2.2). `null` is treated like an omitted field.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateConnectionBody {
    pub idp_entity_id: Option<String>,
    pub display_name: Option<String>,
    /// Kept as raw JSON so that nested values can be reported with the proper error type.
    pub attribute_mapping: Option<Value>,
    pub x509_certificate: Option<String>,
    pub idp_sso_url: Option<String>,
    pub saml_connection_implicit_role_assignments: Option<Vec<RoleAssignment>>,
    pub saml_group_implicit_role_assignments: Option<Vec<GroupRoleAssignment>>,
    pub alternative_audience_uri: Option<String>,
    pub identity_provider: Option<String>,
    pub signing_private_key: Option<String>,
    pub nameid_format: Option<String>,
    pub alternative_acs_url: Option<String>,
    pub idp_initiated_auth_disabled: Option<bool>,
    pub saml_encryption_private_key: Option<String>,
    pub allow_gateway_callback: Option<bool>,
}

/// Body of `PUT .../connections/{connection_id}/url` (§2.3).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateByUrlBody {
    pub metadata_url: Option<String>,
}

/// `{request_id, status_code, connection}` (create / update / update-by-URL).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectionResponse {
    pub request_id: String,
    pub status_code: u16,
    pub connection: SamlConnection,
}

/// `{request_id, status_code, saml_connections, oidc_connections, external_connections}` (§2.5).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetConnectionsResponse {
    pub request_id: String,
    pub status_code: u16,
    pub saml_connections: Vec<SamlConnection>,
    /// Always empty: the sandbox only emulates SAML connections.
    pub oidc_connections: Vec<Value>,
    /// Always empty: the sandbox only emulates SAML connections.
    pub external_connections: Vec<Value>,
}

/// Fresh `request_id` in Stytch's test format.
pub fn new_request_id() -> String {
    format!("request-id-test-{}", uuid::Uuid::new_v4())
}

/// Current time as an RFC 3339 UTC timestamp with second precision (`2023-01-01T00:00:00Z`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
