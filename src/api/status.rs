//! `SamlConnection.status`: what the operator observed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Observed state of the Stytch connection, written by the operator.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SamlConnectionStatus {
    /// The `metadata.generation` this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Id of the Stytch connection this resource manages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,

    /// Canonical organization id, as returned by Stytch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,

    /// Live connection status: `active` or `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_status: Option<String>,

    /// Stytch's Assertion Consumer Service URL; give it to the IdP admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acs_url: Option<String>,

    /// Stytch's audience URI (SP entity id); give it to the IdP admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_uri: Option<String>,

    /// IdP certificates Stytch verifies assertions with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification_certificates: Vec<CertificateStatus>,

    /// Certificates Stytch signs requests with; upload `pem` to the IdP if it wants signed
    /// requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_certificates: Vec<CertificateStatus>,

    /// Earliest `notAfter` among the connection's certificates (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_certificate_expiry: Option<String>,

    /// When the operator last compared the live connection with the spec (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,

    /// Fields whose live value differs from the spec (filled in ObserveOnly mode or when Stytch
    /// did not take a value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,

    /// The value of the `sso.stytch-operator.dev/reconcile-requested-at` annotation last acted
    /// on (like Flux's `lastHandledReconcileAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// The IdP metadata last fetched (metadata URL mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataStatus>,

    /// Conditions: `Ready`, `Active`, `Synced`, `Stalled`, `CertificateExpiringSoon`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

/// One certificate of the connection.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// Stytch's certificate id.
    #[serde(default)]
    pub id: String,
    /// SHA-256 fingerprint of the DER certificate, lowercase hex with colons.
    #[serde(default)]
    pub sha256_fingerprint: String,
    /// Subject distinguished name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Start of validity (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// End of validity (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Public certificate PEM (signing certificates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
}

/// What the operator last fetched from the IdP metadata URL.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MetadataStatus {
    /// When the metadata was fetched (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// SHA-256 of the metadata document, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Conditions follow the Kubernetes convention: a list-map keyed by `type`.
fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let item = Condition::json_schema(generator);
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": item,
    })
}
