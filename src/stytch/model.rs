//! Wire types of the Stytch B2B SAML connection API (API notes §2–§3).
//!
//! Responses are decoded leniently: every field has a default, and unknown fields are kept in
//! `extra` so nothing the operator does not model is lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::secret::SecretString;

/// The `SAMLConnection` object.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct SamlConnection {
    pub organization_id: String,
    pub connection_id: String,
    /// `pending` or `active`.
    pub status: String,
    pub idp_entity_id: String,
    pub display_name: String,
    pub idp_sso_url: String,
    pub acs_url: String,
    pub audience_uri: String,
    pub signing_certificates: Vec<X509Certificate>,
    pub verification_certificates: Vec<X509Certificate>,
    pub encryption_private_keys: Vec<EncryptionPrivateKey>,
    pub saml_connection_implicit_role_assignments: Vec<ImplicitRoleAssignment>,
    pub saml_group_implicit_role_assignments: Vec<GroupImplicitRoleAssignment>,
    pub alternative_audience_uri: String,
    pub identity_provider: String,
    pub nameid_format: String,
    pub alternative_acs_url: String,
    pub idp_initiated_auth_disabled: bool,
    pub allow_gateway_callback: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_mapping: Option<BTreeMap<String, Value>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl SamlConnection {
    /// True when Stytch reports the connection as active.
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// `X509Certificate` (signing and verification certificates).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(default)]
pub struct X509Certificate {
    pub certificate_id: String,
    pub certificate: String,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `EncryptionPrivateKey`. The key itself is secret and redacted from `Debug`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct EncryptionPrivateKey {
    pub private_key_id: String,
    pub private_key: SecretString,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// `{role_id}`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
#[serde(default)]
pub struct ImplicitRoleAssignment {
    pub role_id: String,
}

/// `{role_id, group}`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
#[serde(default)]
pub struct GroupImplicitRoleAssignment {
    pub role_id: String,
    pub group: String,
}

/// Body of Create SAML connection (§2.1).
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct CreateConnectionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
}

/// Body of Update SAML connection (§2.2). Only fields that are `Some` are sent; `Some(false)`,
/// `Some("")` and `Some(vec![])` are sent explicitly.
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct UpdateConnectionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_mapping: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_sso_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saml_connection_implicit_role_assignments: Option<Vec<ImplicitRoleAssignment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saml_group_implicit_role_assignments: Option<Vec<GroupImplicitRoleAssignment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative_audience_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_private_key: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nameid_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative_acs_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_initiated_auth_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saml_encryption_private_key: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_gateway_callback: Option<bool>,
}

impl UpdateConnectionRequest {
    /// True when the body would change nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Names of the API fields this body sets (never their values).
    pub fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut push = |set: bool, name: &'static str| {
            if set {
                names.push(name);
            }
        };
        push(self.idp_entity_id.is_some(), "idp_entity_id");
        push(self.display_name.is_some(), "display_name");
        push(self.attribute_mapping.is_some(), "attribute_mapping");
        push(self.x509_certificate.is_some(), "x509_certificate");
        push(self.idp_sso_url.is_some(), "idp_sso_url");
        push(
            self.saml_connection_implicit_role_assignments.is_some(),
            "saml_connection_implicit_role_assignments",
        );
        push(
            self.saml_group_implicit_role_assignments.is_some(),
            "saml_group_implicit_role_assignments",
        );
        push(
            self.alternative_audience_uri.is_some(),
            "alternative_audience_uri",
        );
        push(self.identity_provider.is_some(), "identity_provider");
        push(self.signing_private_key.is_some(), "signing_private_key");
        push(self.nameid_format.is_some(), "nameid_format");
        push(self.alternative_acs_url.is_some(), "alternative_acs_url");
        push(
            self.idp_initiated_auth_disabled.is_some(),
            "idp_initiated_auth_disabled",
        );
        push(
            self.saml_encryption_private_key.is_some(),
            "saml_encryption_private_key",
        );
        push(
            self.allow_gateway_callback.is_some(),
            "allow_gateway_callback",
        );
        names
    }
}

/// Body of Update by metadata URL (§2.3).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct UpdateByUrlRequest {
    pub metadata_url: String,
}

/// Response carrying a connection (create, update, update by URL).
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct ConnectionResponse {
    pub request_id: String,
    pub status_code: u16,
    pub connection: Option<SamlConnection>,
}

/// Response of Get SSO connections (§2.5). OIDC and external connections are kept opaque.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct GetConnectionsResponse {
    pub request_id: String,
    pub status_code: u16,
    pub saml_connections: Vec<SamlConnection>,
    pub oidc_connections: Vec<Value>,
    pub external_connections: Vec<Value>,
}

/// Response of the delete endpoints; exactly one of the ids is set depending on the endpoint.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct DeleteResponse {
    pub request_id: String,
    pub status_code: u16,
    pub certificate_id: Option<String>,
    pub private_key_id: Option<String>,
    pub connection_id: Option<String>,
}

/// Stytch's error body (§4.1), also accepting the OAuth2-style shape.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct ErrorBody {
    pub status_code: u16,
    pub request_id: String,
    pub error_type: String,
    pub error_message: String,
    pub error_url: String,
    pub error: Option<String>,
    pub error_description: Option<String>,
}
