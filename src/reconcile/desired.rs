//! Resolve + validate: the spec and the Secret/ConfigMap material it references become a
//! [`DesiredConnection`], or a list of [`Problem`]s with their reasons. Pure.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use url::Url;

use super::certs::{
    CertificateError, ParsedCertificate, ParsedPrivateKey, PrivateKeyError, parse_certificate,
    parse_private_key,
};
use super::reasons::Reason;
use crate::api::{CertificateSource, IdpSpec, SamlConnectionSpec, SecretKeySelector};

/// Secrets and ConfigMaps of the resource's namespace that the spec references, as fetched by
/// the I/O shell. Absent names are missing objects.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Secret name → decoded data.
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// ConfigMap name → data.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

/// One thing wrong with the desired state. Messages never contain secret values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub reason: Reason,
    /// Path of the offending spec field, e.g. `spec.idp.certificates[1]`.
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(reason: Reason, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What the IdP side of the connection should be.
#[derive(Clone, Debug, PartialEq)]
pub enum DesiredIdp {
    /// `spec.idp` absent: not managed.
    Unmanaged,
    /// Metadata URL mode; `metadata` is what the shell fetched and parsed from it, if anything.
    MetadataUrl {
        url: String,
        metadata: Option<IdpMetadata>,
    },
    /// Explicit fields; `None` members are not managed.
    Explicit {
        entity_id: Option<String>,
        sso_url: Option<String>,
        certificates: Option<Vec<ParsedCertificate>>,
    },
}

/// Entity id, SSO URL and signing certificates read from IdP metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<ParsedCertificate>,
}

/// The connection the spec asks for, validated. `None` fields are not managed.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredConnection {
    pub display_name: Option<String>,
    pub identity_provider: Option<String>,
    pub idp: DesiredIdp,
    pub attribute_mapping: Option<BTreeMap<String, String>>,
    pub nameid_format: Option<String>,
    pub alternative_audience_uri: Option<String>,
    pub alternative_acs_url: Option<String>,
    pub idp_initiated_auth_disabled: Option<bool>,
    /// Sorted, de-duplicated role ids.
    pub role_ids: Option<Vec<String>>,
    /// Sorted, de-duplicated `(group, role_id)` pairs.
    pub group_roles: Option<Vec<(String, String)>>,
    pub signing_key: Option<ParsedPrivateKey>,
    pub encryption_key: Option<ParsedPrivateKey>,
}

/// Names of the Secrets the spec references (credentials included).
pub fn referenced_secrets(spec: &SamlConnectionSpec) -> BTreeSet<String> {
    let mut names = BTreeSet::from([spec.credentials_ref.name.clone()]);
    names.extend(spec.signing_private_key_ref.iter().map(|r| r.name.clone()));
    names.extend(
        spec.encryption_private_key_ref
            .iter()
            .map(|r| r.name.clone()),
    );
    for cert in certificate_sources(spec) {
        names.extend(cert.secret_key_ref.iter().map(|r| r.name.clone()));
    }
    names
}

/// Names of the ConfigMaps the spec references.
pub fn referenced_config_maps(spec: &SamlConnectionSpec) -> BTreeSet<String> {
    certificate_sources(spec)
        .filter_map(|c| c.config_map_key_ref.as_ref().map(|r| r.name.clone()))
        .collect()
}

fn certificate_sources(spec: &SamlConnectionSpec) -> impl Iterator<Item = &CertificateSource> {
    spec.idp
        .iter()
        .flat_map(|idp| idp.certificates.iter().flatten())
}

/// Validates the spec against the fetched material and builds the desired connection.
/// All problems are reported, not only the first.
pub fn resolve(
    spec: &SamlConnectionSpec,
    sources: &Sources,
    now: Timestamp,
) -> Result<DesiredConnection, Vec<Problem>> {
    let mut problems = Vec::new();
    let idp = resolve_idp(spec.idp.as_ref(), sources, now, &mut problems);
    let attribute_mapping = super::mapping::resolve(spec, &mut problems);
    for (field, value) in [
        (
            "spec.alternativeAudienceUri",
            &spec.alternative_audience_uri,
        ),
        ("spec.alternativeAcsUrl", &spec.alternative_acs_url),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
            && Url::parse(v).is_err()
        {
            problems.push(Problem::new(
                Reason::InvalidAlternativeUrl,
                field,
                "is not a valid URL",
            ));
        }
    }
    let role_ids = spec.role_assignments.as_ref().map(|roles| {
        for (i, r) in roles.iter().enumerate() {
            if r.role_id.trim().is_empty() {
                problems.push(Problem::new(
                    Reason::InvalidRoleId,
                    format!("spec.roleAssignments[{i}].roleId"),
                    "role id is empty",
                ));
            }
        }
        let set: BTreeSet<_> = roles.iter().map(|r| r.role_id.trim().to_owned()).collect();
        set.into_iter().collect::<Vec<_>>()
    });
    let group_roles = spec.group_role_assignments.as_ref().map(|roles| {
        for (i, r) in roles.iter().enumerate() {
            if r.role_id.trim().is_empty() || r.group.trim().is_empty() {
                problems.push(Problem::new(
                    Reason::InvalidRoleId,
                    format!("spec.groupRoleAssignments[{i}]"),
                    "group and role id must both be non-empty",
                ));
            }
        }
        let set: BTreeSet<_> = roles
            .iter()
            .map(|r| (r.group.trim().to_owned(), r.role_id.trim().to_owned()))
            .collect();
        set.into_iter().collect::<Vec<_>>()
    });
    let signing_key = spec.signing_private_key_ref.as_ref().and_then(|r| {
        resolve_key(
            r,
            "spec.signingPrivateKeyRef",
            KeyUse::Signing,
            sources,
            &mut problems,
        )
    });
    let encryption_key = spec.encryption_private_key_ref.as_ref().and_then(|r| {
        resolve_key(
            r,
            "spec.encryptionPrivateKeyRef",
            KeyUse::Encryption,
            sources,
            &mut problems,
        )
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(DesiredConnection {
        display_name: spec.display_name.clone(),
        identity_provider: spec.identity_provider.map(|p| p.as_api_str().to_owned()),
        idp,
        attribute_mapping,
        nameid_format: spec.name_id_format.clone(),
        alternative_audience_uri: spec.alternative_audience_uri.clone(),
        alternative_acs_url: spec.alternative_acs_url.clone(),
        idp_initiated_auth_disabled: spec.idp_initiated_auth_disabled,
        role_ids,
        group_roles,
        signing_key,
        encryption_key,
    })
}

fn resolve_idp(
    idp: Option<&IdpSpec>,
    sources: &Sources,
    now: Timestamp,
    problems: &mut Vec<Problem>,
) -> DesiredIdp {
    let Some(idp) = idp else {
        return DesiredIdp::Unmanaged;
    };
    if let Some(url) = &idp.metadata_url {
        if idp.entity_id.is_some() || idp.sso_url.is_some() || idp.certificates.is_some() {
            problems.push(Problem::new(
                Reason::MetadataInvalidFormat,
                "spec.idp",
                "metadataUrl excludes entityId, ssoUrl and certificates",
            ));
        }
        match Url::parse(url) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
            Ok(_) => problems.push(Problem::new(
                Reason::MetadataUrlNotHttps,
                "spec.idp.metadataUrl",
                "the metadata URL must use https",
            )),
            Err(_) => problems.push(Problem::new(
                Reason::MetadataUrlInvalid,
                "spec.idp.metadataUrl",
                "is not a valid URL",
            )),
        }
        return DesiredIdp::MetadataUrl {
            url: url.clone(),
            metadata: None,
        };
    }
    if let Some(entity_id) = &idp.entity_id
        && entity_id.trim().is_empty()
    {
        problems.push(Problem::new(
            Reason::InvalidIdpEntityId,
            "spec.idp.entityId",
            "entity id is empty",
        ));
    }
    if let Some(sso_url) = &idp.sso_url {
        match Url::parse(sso_url) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
            Ok(_) => problems.push(Problem::new(
                Reason::IdpSsoUrlNotHttps,
                "spec.idp.ssoUrl",
                "the SSO URL must use https",
            )),
            Err(_) => problems.push(Problem::new(
                Reason::IdpSsoUrlInvalidFormat,
                "spec.idp.ssoUrl",
                "is not a valid URL",
            )),
        }
    }
    let certificates = idp.certificates.as_ref().map(|list| {
        if list.is_empty() || list.len() > 5 {
            problems.push(Problem::new(
                Reason::TooManyVerificationCertificates,
                "spec.idp.certificates",
                format!(
                    "between 1 and 5 certificates are needed, {} given",
                    list.len()
                ),
            ));
        }
        let mut parsed: Vec<ParsedCertificate> = Vec::new();
        for (i, source) in list.iter().enumerate() {
            let field = format!("spec.idp.certificates[{i}]");
            let Some(text) = certificate_text(source, &field, sources, problems) else {
                continue;
            };
            match parse_certificate(&text, now) {
                Ok(cert) if parsed.iter().any(|p| p.sha256 == cert.sha256) => {
                    // The same certificate listed twice is one certificate.
                }
                Ok(cert) => parsed.push(cert),
                Err(err) => problems.push(certificate_problem(&field, &err)),
            }
        }
        parsed
    });
    DesiredIdp::Explicit {
        entity_id: idp.entity_id.clone(),
        sso_url: idp.sso_url.clone(),
        certificates,
    }
}

fn certificate_problem(field: &str, err: &CertificateError) -> Problem {
    let reason = match err {
        CertificateError::Chain(_) => Reason::CertificateChainNotAccepted,
        CertificateError::Expired { .. } => Reason::CertificateExpired,
        _ => Reason::InvalidX509Certificate,
    };
    Problem::new(reason, field, err.to_string())
}

fn certificate_text(
    source: &CertificateSource,
    field: &str,
    sources: &Sources,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match (
        &source.pem,
        &source.secret_key_ref,
        &source.config_map_key_ref,
    ) {
        (Some(pem), None, None) => Some(pem.clone()),
        (None, Some(r), None) => {
            let bytes = secret_value(r, &format!("{field}.secretKeyRef"), sources, problems)?;
            match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    problems.push(Problem::new(
                        Reason::InvalidX509Certificate,
                        field,
                        "the Secret value is not text",
                    ));
                    None
                }
            }
        }
        (None, None, Some(r)) => match sources.config_maps.get(&r.name) {
            None => {
                problems.push(Problem::new(
                    Reason::ConfigMapNotFound,
                    format!("{field}.configMapKeyRef"),
                    format!(
                        "ConfigMap `{}` not found in the resource's namespace",
                        r.name
                    ),
                ));
                None
            }
            Some(data) => match data.get(&r.key) {
                Some(text) => Some(text.clone()),
                None => {
                    problems.push(Problem::new(
                        Reason::ConfigMapKeyNotFound,
                        format!("{field}.configMapKeyRef"),
                        format!("ConfigMap `{}` has no key `{}`", r.name, r.key),
                    ));
                    None
                }
            },
        },
        _ => {
            problems.push(Problem::new(
                Reason::InvalidX509Certificate,
                field,
                "exactly one of pem, secretKeyRef, configMapKeyRef is required",
            ));
            None
        }
    }
}

/// Reads a Secret key, reporting a missing Secret or key by name only.
pub fn secret_value(
    selector: &SecretKeySelector,
    field: &str,
    sources: &Sources,
    problems: &mut Vec<Problem>,
) -> Option<Vec<u8>> {
    let Some(data) = sources.secrets.get(&selector.name) else {
        problems.push(Problem::new(
            Reason::SecretNotFound,
            field,
            format!(
                "Secret `{}` not found in the resource's namespace",
                selector.name
            ),
        ));
        return None;
    };
    match data.get(&selector.key) {
        Some(bytes) => Some(bytes.clone()),
        None => {
            problems.push(Problem::new(
                Reason::SecretKeyNotFound,
                field,
                format!("Secret `{}` has no key `{}`", selector.name, selector.key),
            ));
            None
        }
    }
}

#[derive(Clone, Copy)]
enum KeyUse {
    Signing,
    Encryption,
}

fn resolve_key(
    selector: &SecretKeySelector,
    field: &str,
    key_use: KeyUse,
    sources: &Sources,
    problems: &mut Vec<Problem>,
) -> Option<ParsedPrivateKey> {
    let bytes = secret_value(selector, field, sources, problems)?;
    let text = String::from_utf8(bytes).unwrap_or_default();
    match parse_private_key(&text) {
        Ok(key) => Some(key),
        Err(err) => {
            let reason = match (key_use, &err) {
                (KeyUse::Signing, PrivateKeyError::FormatNotSupported(_)) => {
                    Reason::SigningPrivateKeyFormatNotSupported
                }
                (KeyUse::Signing, _) => Reason::SigningPrivateKeyInvalid,
                (KeyUse::Encryption, PrivateKeyError::FormatNotSupported(_)) => {
                    Reason::EncryptionPrivateKeyFormatNotSupported
                }
                (KeyUse::Encryption, _) => Reason::EncryptionPrivateKeyInvalid,
            };
            problems.push(Problem::new(reason, field, err.to_string()));
            None
        }
    }
}
