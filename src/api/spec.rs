//! `SamlConnection.spec`: what the user declares.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SamlConnectionStatus;

/// Desired state of one Stytch B2B SAML connection.
///
/// Optional fields that are left out are not managed: the operator leaves the live value alone.
/// Fields that are present are kept equal to the declared value.
// clippy reads the repeated `type_ = ...` of separate printcolumn(...) groups as duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "sso.stytch-operator.dev",
    version = "v1alpha1",
    kind = "SamlConnection",
    plural = "samlconnections",
    singular = "samlconnection",
    shortname = "samlconn",
    category = "stytch",
    namespaced,
    status = "SamlConnectionStatus",
    derive = "PartialEq",
    doc = "A Stytch B2B SAML SSO connection, kept equal to this spec by stytch-saml-operator.",
    printcolumn(name = "Org", type_ = "string", json_path = ".spec.organizationId"),
    printcolumn(
        name = "Connection",
        type_ = "string",
        json_path = ".status.connectionId"
    ),
    printcolumn(name = "IdP", type_ = "string", json_path = ".spec.identityProvider"),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.connectionStatus"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Cert-Expiry",
        type_ = "date",
        json_path = ".status.earliestCertificateExpiry"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(oldSelf.connectionId) || (has(self.connectionId) && self.connectionId == oldSelf.connectionId)").message("connectionId is immutable once set"),
    validation = Rule::new("!has(self.groupRoleAssignments) || size(self.groupRoleAssignments) == 0 || (has(self.attributeMapping) && has(self.attributeMapping.groups))").message("groupRoleAssignments need attributeMapping.groups (the IdP attribute that carries group names)"),
)]
pub struct SamlConnectionSpec {
    /// Secret in the same namespace holding the Stytch project credentials: keys `project_id`,
    /// `secret`, and optionally `base_url` (defaults to https://api.stytch.com for
    /// `project-live-` project ids and https://test.stytch.com otherwise).
    pub credentials_ref: LocalObjectReference,

    /// Stytch organization that owns the connection: its organization id, slug or external id.
    /// Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("organizationId is immutable"))]
    #[schemars(length(min = 1, max = 256))]
    pub organization_id: String,

    /// Existing connection to adopt (e.g. `saml-connection-test-...`). Leave it out and the
    /// operator creates a connection and records its id in status. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub connection_id: Option<String>,

    /// Human-readable name of the connection, shown to members in Stytch's UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub display_name: Option<String>,

    /// Kind of identity provider; tells Stytch which provider-specific behaviour to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<IdentityProvider>,

    /// Identity provider details: either `metadataUrl`, or the explicit `entityId`, `ssoUrl` and
    /// `certificates`. May be left out or given partially while the customer's IdP is being set
    /// up; the connection then stays `pending` and status names what is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<IdpSpec>,

    /// Maps IdP assertion attributes to Stytch member fields. Needs `email`, and `fullName` or
    /// both `firstName` and `lastName`, before the connection can become active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_mapping: Option<AttributeMapping>,

    /// NameID format the connection expects. Stytch's default is
    /// `urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub name_id_format: Option<String>,

    /// A different Audience Restriction value, for migrating an existing SAML integration with
    /// zero downtime. An empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub alternative_audience_uri: Option<String>,

    /// A different AssertionConsumerServiceURL to put in SP-initiated requests (migrations; the
    /// URL must be proxied to Stytch). An empty string clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub alternative_acs_url: Option<String>,

    /// Refuse IdP-initiated logins when true. Stytch's default is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_initiated_auth_disabled: Option<bool>,

    /// Roles every member who logs in through this connection receives. The list is the full
    /// set; an empty list removes all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_assignments: Option<Vec<RoleAssignment>>,

    /// Roles granted to members in a named IdP group. Needs `attributeMapping.groups`. The list
    /// is the full set; an empty list removes all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_role_assignments: Option<Vec<GroupRoleAssignment>>,

    /// Secret key holding the PKCS#1 RSA private key (`-----BEGIN RSA PRIVATE KEY-----`) that
    /// Stytch signs AuthnRequests with. Stytch derives a signing certificate from it, shown in
    /// `status.signingCertificates` for upload to the IdP. Private keys are never inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_private_key_ref: Option<SecretKeySelector>,

    /// Secret key holding the PKCS#1 RSA private key Stytch decrypts encrypted assertions with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_private_key_ref: Option<SecretKeySelector>,

    /// What happens to the Stytch connection when this resource is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// `Full` keeps the connection equal to the spec; `ObserveOnly` never writes to Stytch and
    /// reports differences in `status.drift`.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// Pause reconciliation: no Stytch calls are made while true.
    #[serde(default)]
    pub suspend: bool,
}

/// Reference to an object in the same namespace.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct LocalObjectReference {
    /// Name of the object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A key of a Secret in the same namespace.
#[derive(
    KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A key of a ConfigMap in the same namespace.
#[derive(
    KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub struct ConfigMapKeySelector {
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the ConfigMap's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Identity provider details.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.metadataUrl) || (!has(self.entityId) && !has(self.ssoUrl) && !has(self.certificates))").message("idp.metadataUrl excludes idp.entityId, idp.ssoUrl and idp.certificates"))]
pub struct IdpSpec {
    /// https URL of the IdP's SAML metadata XML. The operator keeps entity id, SSO URL and
    /// certificates equal to what it lists, which makes IdP certificate rollover automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https://[^\s]+$"))]
    pub metadata_url: Option<String>,

    /// The IdP's entity id (issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub entity_id: Option<String>,

    /// The IdP's SSO URL (https), where Stytch sends SP-initiated login requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https://[^\s]+$"))]
    pub sso_url: Option<String>,

    /// The full set (1 to 5) of IdP signing certificates Stytch should trust. List the old and
    /// the new certificate together to rotate with overlap; remove the old one afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 5))]
    pub certificates: Option<Vec<CertificateSource>>,
}

/// Where one X.509 certificate (PEM) comes from: exactly one of `pem`, `secretKeyRef`,
/// `configMapKeyRef`.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.pem), has(self.secretKeyRef), has(self.configMapKeyRef)].filter(x, x).size() == 1").message("each certificate needs exactly one of pem, secretKeyRef, configMapKeyRef"))]
pub struct CertificateSource {
    /// The certificate inline, PEM encoded (public material).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub pem: Option<String>,
    /// A Secret key holding the PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
    /// A ConfigMap key holding the PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
}

/// Attribute mapping: Stytch member field → name of the IdP assertion attribute.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.fullName) || (has(self.firstName) && has(self.lastName))").message("attributeMapping needs fullName, or both firstName and lastName"),
    validation = Rule::new("!has(self.additional) || self.additional.all(k, !(k in ['email', 'full_name', 'first_name', 'last_name', 'groups', 'idp_user_id']))").message("attributeMapping.additional must not repeat a named key (email, full_name, first_name, last_name, groups, idp_user_id)"),
)]
pub struct AttributeMapping {
    /// Attribute carrying the member's email address (Stytch key `email`).
    #[schemars(length(min = 1, max = 1024))]
    pub email: String,
    /// Attribute carrying the full name (Stytch key `full_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub full_name: Option<String>,
    /// Attribute carrying the first name (Stytch key `first_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub first_name: Option<String>,
    /// Attribute carrying the last name (Stytch key `last_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub last_name: Option<String>,
    /// Attribute carrying group names (Stytch key `groups`); needed by `groupRoleAssignments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub groups: Option<String>,
    /// Attribute carrying the IdP's stable user id (Stytch key `idp_user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub idp_user_id: Option<String>,
    /// Further Stytch keys, passed through unchanged. Values are flat strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional: Option<BTreeMap<String, String>>,
}

/// A role every member of this connection receives.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// Role id, e.g. `stytch_member` or a role of the project's RBAC policy.
    #[schemars(length(min = 1, max = 256))]
    pub role_id: String,
}

/// A role granted to members in an IdP group.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GroupRoleAssignment {
    /// Group name as the IdP sends it in the `groups` attribute.
    #[schemars(length(min = 1, max = 1024))]
    pub group: String,
    /// Role id granted to the group's members.
    #[schemars(length(min = 1, max = 256))]
    pub role_id: String,
}

/// Identity provider kinds Stytch knows.
#[derive(JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityProvider {
    Classlink,
    Cyberark,
    Duo,
    Generic,
    GoogleWorkspace,
    Jumpcloud,
    Keycloak,
    Miniorange,
    MicrosoftEntra,
    Okta,
    Onelogin,
    Pingfederate,
    Rippling,
    Salesforce,
    Shibboleth,
}

impl IdentityProvider {
    /// Every kind, in the API's order.
    pub const ALL: [IdentityProvider; 15] = [
        Self::Classlink,
        Self::Cyberark,
        Self::Duo,
        Self::Generic,
        Self::GoogleWorkspace,
        Self::Jumpcloud,
        Self::Keycloak,
        Self::Miniorange,
        Self::MicrosoftEntra,
        Self::Okta,
        Self::Onelogin,
        Self::Pingfederate,
        Self::Rippling,
        Self::Salesforce,
        Self::Shibboleth,
    ];

    /// The value Stytch's API uses.
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::Classlink => "classlink",
            Self::Cyberark => "cyberark",
            Self::Duo => "duo",
            Self::Generic => "generic",
            Self::GoogleWorkspace => "google-workspace",
            Self::Jumpcloud => "jumpcloud",
            Self::Keycloak => "keycloak",
            Self::Miniorange => "miniorange",
            Self::MicrosoftEntra => "microsoft-entra",
            Self::Okta => "okta",
            Self::Onelogin => "onelogin",
            Self::Pingfederate => "pingfederate",
            Self::Rippling => "rippling",
            Self::Salesforce => "salesforce",
            Self::Shibboleth => "shibboleth",
        }
    }
}

/// What deleting the resource does to the Stytch connection.
#[derive(JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Delete the Stytch connection (a connection already gone counts as deleted).
    #[default]
    Delete,
    /// Leave the Stytch connection in place.
    Orphan,
}

/// How much the operator may change.
#[derive(JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ManagementPolicy {
    /// Create, update and delete the connection to match the spec.
    #[default]
    Full,
    /// Only read the connection and report drift; never write to Stytch.
    ObserveOnly,
}
