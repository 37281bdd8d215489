//! Condition reasons: CamelCase, stable, one per distinct cause.
//!
//! Stytch `error_type`s map onto reasons here, and local validation uses the same reasons, so a
//! bad value reads the same whether the operator or Stytch caught it.

/// Declares [`Reason`] and its names from one list, so no variant can lack a name.
macro_rules! reasons {
    ($($(#[$doc:meta])* $r:ident,)*) => {
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
        }
    };
}

reasons! {
    // Healthy states.
    Active,
    Pending,
    Synced,
    Ready,
    AsExpected,
    CertificatesValid,
    NoCertificates,
    Reconciling,
    // Deliberate non-sync.
    DriftDetected,
    ValueNotTaken,
    Suspended,
    // Certificates.
    InvalidX509Certificate,
    CertificateChainNotAccepted,
    CertificateExpired,
    CertificateExpiringSoon,
    TooManyVerificationCertificates,
    CannotDeleteLastVerificationCertificate,
    // Attribute mapping.
    AttributeMappingRequired,
    EmailMappingRequired,
    NameMappingRequired,
    AttributeMappingMissingGroupsKey,
    NestedAttributeMappingKeys,
    // IdP URLs and ids.
    IdpSsoUrlInvalidFormat,
    IdpSsoUrlNotHttps,
    IdpSsoUrlRequired,
    InvalidIdpEntityId,
    InvalidAlternativeUrl,
    MetadataUrlNotHttps,
    MetadataUrlInvalid,
    MetadataHostNotAllowed,
    MetadataXmlInvalid,
    MetadataInvalidFormat,
    // Keys.
    SigningPrivateKeyFormatNotSupported,
    SigningPrivateKeyInvalid,
    EncryptionPrivateKeyFormatNotSupported,
    EncryptionPrivateKeyInvalid,
    PrivateKeyTooLong,
    TooManyEncryptionKeys,
    // Other spec errors.
    InvalidIdentityProvider,
    InvalidRoleId,
    DuplicateConnection,
    TooManyConnections,
    InvalidOrganizationId,
    // Missing things.
    OrganizationNotFound,
    ConnectionNotFound,
    CredentialsSecretNotFound,
    CredentialsSecretInvalid,
    InvalidCredentials,
    SecretNotFound,
    SecretKeyNotFound,
    ConfigMapNotFound,
    ConfigMapKeyNotFound,
    // Lifecycle.
    CreatePendingAmbiguous,
    CredentialsSecretNeededForDeletion,
    // Transient and unknown.
    KubernetesApiError,
    MetadataFetchFailed,
    RateLimited,
    StytchUnavailable,
    StytchRequestRejected,
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
