//! Condition reasons: CamelCase, stable, one per distinct cause.
//!
//! Stytch `error_type`s map onto reasons here, and local validation uses the same reasons, so a
//! bad value reads the same whether the operator or Stytch caught it.

/// Declares [`Reason`] and its names from one list, so no variant can lack a name.
macro_rules! reasons {
    ($($(#[$doc:meta])* $r:ident => $help:literal,)*) => {
        /// A stable reason for a condition, an Event and the `reason` metric label.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Reason {
            $($(#[$doc])* $r,)*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &[Reason] = &[$(Reason::$r),*];

            /// The reason string written to conditions and Events (the variant name).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$r => stringify!($r),)*
                }
            }

            /// What the reason means and what to do about it (docs/conditions.md).
            pub fn help(self) -> &'static str {
                match self {
                    $(Reason::$r => $help,)*
                }
            }
        }
    };
}

reasons! {
    // Healthy states.
    Active => "Stytch reports the connection active: logins work.",
    Pending => "The connection is pending: set what the message names (IdP SSO URL, entity id, a certificate, the attribute mapping); hand status.acsUrl and status.audienceUri to the IdP admin meanwhile.",
    Synced => "The live connection matches the spec.",
    Ready => "Active and Synced.",
    AsExpected => "No error is waiting for a change of the resource.",
    CertificatesValid => "No certificate expires within the warning window.",
    NoCertificates => "The connection has no certificates yet.",
    Reconciling => "The live connection has not been read yet (first reconcile, or Stytch could not be reached); wait.",
    // Deliberate non-sync.
    DriftDetected => "ObserveOnly: the live connection differs from the spec in the fields listed in status.drift. Change the spec (or Stytch), or switch managementPolicy to Full to let the operator write.",
    ValueNotTaken => "The operator wrote a value but Stytch returned another: check the fields named in the message (Stytch may normalize or refuse them silently).",
    Suspended => "spec.suspend is true: no Stytch calls are made. Set it to false to resume.",
    // Certificates.
    InvalidX509Certificate => "A certificate does not parse as a PEM X.509 certificate: paste the IdP's signing certificate (-----BEGIN CERTIFICATE-----).",
    CertificateChainNotAccepted => "A certificate entry holds several certificates: give each IdP certificate its own entry.",
    CertificateExpired => "A certificate in the spec has expired (or, on CertificateExpiringSoon, a live certificate has): get the IdP's current certificate and rotate.",
    CertificateExpiringSoon => "A certificate expires within --certificate-expiry-warning: add the IdP's new certificate next to the old one, then remove the old one.",
    TooManyVerificationCertificates => "More than 5 IdP certificates (or none) listed: Stytch keeps at most 5.",
    CannotDeleteLastVerificationCertificate => "Stytch refused to delete the only certificate of an active connection: list the replacement certificate first.",
    // Attribute mapping.
    AttributeMappingRequired => "Stytch needs an attribute mapping before the connection can be active: set spec.attributeMapping.",
    EmailMappingRequired => "spec.attributeMapping.email is missing or empty.",
    NameMappingRequired => "Map fullName, or both firstName and lastName.",
    AttributeMappingMissingGroupsKey => "groupRoleAssignments need spec.attributeMapping.groups.",
    NestedAttributeMappingKeys => "attributeMapping.additional keys must be flat names and must not repeat a key that has its own field.",
    // IdP URLs and ids.
    IdpSsoUrlInvalidFormat => "spec.idp.ssoUrl is not a URL.",
    IdpSsoUrlNotHttps => "spec.idp.ssoUrl must use https.",
    IdpSsoUrlRequired => "Stytch needs the IdP SSO URL (for example when clearing it on an active connection).",
    InvalidIdpEntityId => "spec.idp.entityId is empty or refused by Stytch.",
    InvalidAlternativeUrl => "alternativeAudienceUri or alternativeAcsUrl is not a URL.",
    MetadataUrlNotHttps => "The metadata URL (or a redirect) is not https.",
    MetadataUrlInvalid => "The metadata URL is not a URL, or could not be fetched (status, redirects); check it in a browser.",
    MetadataHostNotAllowed => "The metadata URL's host is not in --metadata-allowed-hosts: ask the operator admin, or use another URL.",
    MetadataXmlInvalid => "The metadata is not XML, or uses a DTD (refused to prevent entity expansion).",
    MetadataInvalidFormat => "The metadata is XML but not usable IdP SAML metadata (no IDPSSODescriptor, SSO service or signing certificate), is too large, or metadataUrl is combined with explicit IdP fields.",
    // Keys.
    SigningPrivateKeyFormatNotSupported => "The signing key is not PKCS#1: convert it with `openssl rsa -traditional`.",
    SigningPrivateKeyInvalid => "The signing key does not parse.",
    EncryptionPrivateKeyFormatNotSupported => "The encryption key is not PKCS#1: convert it with `openssl rsa -traditional`.",
    EncryptionPrivateKeyInvalid => "The encryption key does not parse.",
    PrivateKeyTooLong => "Stytch refused the key as too long.",
    TooManyEncryptionKeys => "Stytch refused another encryption key.",
    // Other spec errors.
    InvalidIdentityProvider => "Stytch does not know the identity provider value.",
    InvalidRoleId => "A role id is empty, or not a role of the project's RBAC policy.",
    DuplicateConnection => "Stytch reports a duplicate connection (for example the same IdP entity id elsewhere).",
    TooManyConnections => "The organization or the billing tier has no room for another SSO connection.",
    InvalidOrganizationId => "spec.organizationId is not a valid id, slug or external id.",
    // Missing things.
    OrganizationNotFound => "No organization with that id, slug or external id in this Stytch project.",
    ConnectionNotFound => "The connection does not exist in Stytch: check spec.connectionId, or remove the connection-id annotation to create a new one.",
    CredentialsSecretNotFound => "The Secret named in spec.credentialsRef does not exist in the resource's namespace.",
    CredentialsSecretInvalid => "The credentials Secret lacks project_id or secret, or base_url is not an http(s) URL.",
    InvalidCredentials => "Stytch refused the project_id/secret of the credentials Secret.",
    SecretNotFound => "A Secret the spec references does not exist in the resource's namespace.",
    SecretKeyNotFound => "A Secret the spec references lacks the named key.",
    ConfigMapNotFound => "A ConfigMap the spec references does not exist in the resource's namespace.",
    ConfigMapKeyNotFound => "A ConfigMap the spec references lacks the named key.",
    // Lifecycle.
    CreatePendingAmbiguous => "An interrupted create left several unclaimed connections with this display name: set spec.connectionId to the right one and delete the others in Stytch.",
    CredentialsSecretNeededForDeletion => "Deleting the Stytch connection needs the credentials Secret: restore it, or set deletionPolicy: Orphan.",
    // Transient and unknown.
    KubernetesApiError => "The Kubernetes API failed; retried with backoff.",
    MetadataFetchFailed => "The metadata URL timed out or answered 5xx; retried with backoff.",
    RateLimited => "Stytch rate-limited the project; retried with backoff (lower --stytch-rate-limit if frequent).",
    StytchUnavailable => "Stytch answered 5xx or could not be reached; retried with backoff.",
    StytchRequestRejected => "Stytch refused the request with an error type the operator does not know; the message has it.",
}

impl Reason {
    /// The reason for a Stytch `error_type`, when it has its own.
    pub fn from_error_type(error_type: &str) -> Option<Self> {
        ERROR_TYPES
            .iter()
            .find(|(t, _)| *t == error_type)
            .map(|(_, r)| *r)
    }

    /// True for reasons that describe a permanent problem awaiting a user change.
    pub fn is_user_error(self) -> bool {
        !matches!(
            self,
            Self::Active
                | Self::Pending
                | Self::Synced
                | Self::Ready
                | Self::AsExpected
                | Self::CertificatesValid
                | Self::NoCertificates
                | Self::Reconciling
                | Self::DriftDetected
                | Self::ValueNotTaken
                | Self::Suspended
                | Self::CertificateExpiringSoon
                | Self::RateLimited
                | Self::StytchUnavailable
                | Self::KubernetesApiError
                | Self::MetadataFetchFailed
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stytch `error_type` → reason (API notes §4.2).
const ERROR_TYPES: &[(&str, Reason)] = &[
    ("invalid_x509_certificate", Reason::InvalidX509Certificate),
    (
        "too_many_sso_verification_certificates",
        Reason::TooManyVerificationCertificates,
    ),
    (
        "cannot_delete_last_sso_verification_key",
        Reason::CannotDeleteLastVerificationCertificate,
    ),
    (
        "saml_connection_attribute_mapping_required",
        Reason::AttributeMappingRequired,
    ),
    (
        "saml_connection_email_mapping_required",
        Reason::EmailMappingRequired,
    ),
    (
        "saml_connection_name_mapping_required",
        Reason::NameMappingRequired,
    ),
    (
        "saml_connection_attribute_mapping_missing_groups_key",
        Reason::AttributeMappingMissingGroupsKey,
    ),
    (
        "saml_connection_no_nested_keys_in_attribute_mapping",
        Reason::NestedAttributeMappingKeys,
    ),
    (
        "saml_connection_idp_sso_url_invalid_format",
        Reason::IdpSsoUrlInvalidFormat,
    ),
    (
        "saml_connection_idp_sso_url_not_https",
        Reason::IdpSsoUrlNotHttps,
    ),
    (
        "saml_connection_idp_sso_url_required",
        Reason::IdpSsoUrlRequired,
    ),
    ("invalid_idp_sso_url", Reason::IdpSsoUrlInvalidFormat),
    ("invalid_idp_entity_id", Reason::InvalidIdpEntityId),
    (
        "saml_connection_metadata_invalid_format",
        Reason::MetadataInvalidFormat,
    ),
    ("invalid_saml_metadata_url", Reason::MetadataUrlInvalid),
    (
        "invalid_xml_from_saml_metadata_url",
        Reason::MetadataXmlInvalid,
    ),
    (
        "saml_signing_private_key_format_not_supported",
        Reason::SigningPrivateKeyFormatNotSupported,
    ),
    (
        "saml_signing_private_key_invalid",
        Reason::SigningPrivateKeyInvalid,
    ),
    ("private_key_too_long", Reason::PrivateKeyTooLong),
    (
        "too_many_encryption_certificates",
        Reason::TooManyEncryptionKeys,
    ),
    ("invalid_sso_idp", Reason::InvalidIdentityProvider),
    ("invalid_rbac_role_id", Reason::InvalidRoleId),
    ("invalid_role", Reason::InvalidRoleId),
    ("invalid_rbac_role_assignment", Reason::InvalidRoleId),
    ("duplicate_saml_connection", Reason::DuplicateConnection),
    ("too_many_sso_connections", Reason::TooManyConnections),
    (
        "too_many_sso_connections_for_billing_tier",
        Reason::TooManyConnections,
    ),
    ("invalid_organization_id", Reason::InvalidOrganizationId),
    ("invalid_organization_slug", Reason::InvalidOrganizationId),
    (
        "invalid_organization_external_id",
        Reason::InvalidOrganizationId,
    ),
    ("organization_not_found", Reason::OrganizationNotFound),
    ("saml_connection_not_found", Reason::ConnectionNotFound),
    ("sso_connection_not_found", Reason::ConnectionNotFound),
    ("unauthorized_credentials", Reason::InvalidCredentials),
    ("invalid_authorization_header", Reason::InvalidCredentials),
    ("too_many_requests", Reason::RateLimited),
    ("internal_server_error", Reason::StytchUnavailable),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_reason_has_a_unique_camel_case_name() {
        let names: BTreeSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Reason::ALL.len());
        for reason in Reason::ALL {
            let name = reason.as_str();
            assert_eq!(format!("{reason:?}"), name);
            assert!(name.chars().next().is_some_and(char::is_uppercase));
            assert!(name.chars().all(char::is_alphanumeric));
        }
    }

    #[test]
    fn update_endpoint_errors_each_have_their_own_reason() {
        let update_errors = [
            "invalid_x509_certificate",
            "too_many_sso_verification_certificates",
            "saml_connection_attribute_mapping_missing_groups_key",
            "saml_connection_email_mapping_required",
            "saml_connection_name_mapping_required",
            "saml_connection_no_nested_keys_in_attribute_mapping",
            "saml_connection_idp_sso_url_not_https",
            "saml_connection_idp_sso_url_invalid_format",
            "saml_signing_private_key_format_not_supported",
        ];
        let reasons: BTreeSet<_> = update_errors
            .iter()
            .map(|t| Reason::from_error_type(t).expect(t))
            .collect();
        assert_eq!(reasons.len(), update_errors.len());
        assert!(reasons.iter().all(|r| r.is_user_error()));
    }

    #[test]
    fn unknown_error_types_have_no_reason_of_their_own() {
        assert_eq!(Reason::from_error_type("something_new"), None);
    }
}
