//! The diff: `plan(desired, live) -> Plan`, the minimal set of Stytch calls that makes the live
//! connection equal to the desired one. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::certs::{ParsedCertificate, parse_certificate_any_time, sha256_fingerprint};
use super::desired::{DesiredConnection, DesiredIdp};
use super::normalize;
use crate::stytch::model::{
    GroupImplicitRoleAssignment, ImplicitRoleAssignment, SamlConnection, UpdateConnectionRequest,
    X509Certificate,
};

/// Stytch's limit of verification certificates per connection.
pub const MAX_VERIFICATION_CERTIFICATES: usize = 5;

/// One field that differs, in spec terms. Secret values are never included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Spec path, e.g. `idp.ssoUrl`.
    pub field: &'static str,
    pub live: String,
    pub desired: String,
}

/// A live verification certificate the plan removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRef {
    pub id: String,
    pub sha256: String,
}

/// What has to change.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Plan {
    /// Field changes for one Update call (no certificate in it).
    pub update: UpdateConnectionRequest,
    /// IdP certificates to add, one per Update call.
    pub upload_certificates: Vec<ParsedCertificate>,
    /// Verification certificates the spec no longer lists.
    pub delete_verification_certificates: Vec<CertificateRef>,
    /// Encryption keys other than the desired one.
    pub delete_encryption_keys: Vec<String>,
    /// Update by metadata URL is needed with this URL.
    pub metadata_url: Option<String>,
    /// Verification certificates that update adds: the metadata's certificates the connection
    /// lacks (Stytch adds each), or 1 when the metadata has not been read.
    pub metadata_url_adds: usize,
    /// Human-readable differences, one per spec field.
    pub differences: Vec<Difference>,
}

/// One Stytch call, in the order they must be made.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    UpdateByUrl(String),
    Update(Box<UpdateConnectionRequest>),
    DeleteVerificationCertificate(String),
    DeleteEncryptionKey(String),
}

impl Plan {
    /// True when the live connection already matches: no call is needed.
    pub fn is_empty(&self) -> bool {
        self.update.is_empty()
            && self.upload_certificates.is_empty()
            && self.delete_verification_certificates.is_empty()
            && self.delete_encryption_keys.is_empty()
            && self.metadata_url.is_none()
    }

    /// Spec field names that differ.
    pub fn drift(&self) -> Vec<String> {
        let set: BTreeSet<_> = self
            .differences
            .iter()
            .map(|d| d.field.to_owned())
            .collect();
        set.into_iter().collect()
    }

    /// The calls in a safe order, given how many verification certificates the connection has
    /// now: never more than 5 at any moment, never the last one deleted. The first certificate
    /// upload rides on the field update when there is one.
    pub fn calls(&self, live_certificate_count: usize) -> Vec<Call> {
        let mut calls = Vec::new();
        let mut count = live_certificate_count;
        let mut stale: Vec<&CertificateRef> =
            self.delete_verification_certificates.iter().collect();
        let mut make_room = |calls: &mut Vec<Call>, count: &mut usize, needed: usize| {
            while *count + needed > MAX_VERIFICATION_CERTIFICATES && *count > 1 {
                let Some(old) = stale.pop() else { break };
                calls.push(Call::DeleteVerificationCertificate(old.id.clone()));
                *count -= 1;
            }
        };
        if let Some(url) = &self.metadata_url {
            make_room(&mut calls, &mut count, self.metadata_url_adds);
            calls.push(Call::UpdateByUrl(url.clone()));
            count += self.metadata_url_adds;
        }
        let mut uploads = self.upload_certificates.iter();
        if !self.update.is_empty() {
            let mut body = self.update.clone();
            make_room(&mut calls, &mut count, 1);
            if count < MAX_VERIFICATION_CERTIFICATES
                && let Some(first) = uploads.next()
            {
                body.x509_certificate = Some(first.pem.clone());
                count += 1;
            }
            calls.push(Call::Update(Box::new(body)));
        }
        for cert in uploads {
            make_room(&mut calls, &mut count, 1);
            calls.push(Call::Update(Box::new(UpdateConnectionRequest {
                x509_certificate: Some(cert.pem.clone()),
                ..Default::default()
            })));
            count += 1;
        }
        for old in stale.into_iter().rev() {
            if count > 1 {
                calls.push(Call::DeleteVerificationCertificate(old.id.clone()));
                count -= 1;
            }
        }
        for key in &self.delete_encryption_keys {
            calls.push(Call::DeleteEncryptionKey(key.clone()));
        }
        calls
    }
}

/// Fingerprint of a live certificate: of its DER when it parses, of its trimmed text otherwise.
fn live_fingerprint(cert: &X509Certificate) -> String {
    parse_certificate_any_time(&cert.certificate)
        .map(|c| c.sha256)
        .unwrap_or_else(|_| sha256_fingerprint(cert.certificate.trim().as_bytes()))
}

/// Computes the plan. A live connection equal to the desired one yields an empty plan.
pub fn plan(desired: &DesiredConnection, live: &SamlConnection) -> Plan {
    let mut p = Plan::default();
    let mut diff = |field: &'static str, live: &str, desired: &str| {
        p.differences.push(Difference {
            field,
            live: live.to_owned(),
            desired: desired.to_owned(),
        });
    };

    if let Some(name) = &desired.display_name
        && name != &live.display_name
    {
        diff("displayName", &live.display_name, name);
        p.update.display_name = Some(name.clone());
    }
    if let Some(idp) = &desired.identity_provider
        && normalize::identity_provider(idp)
            != normalize::identity_provider(&live.identity_provider)
    {
        diff("identityProvider", &live.identity_provider, idp);
        p.update.identity_provider = Some(idp.clone());
    }
    if let Some(format) = &desired.nameid_format
        && normalize::nameid_format(format) != normalize::nameid_format(&live.nameid_format)
    {
        diff("nameIdFormat", &live.nameid_format, format);
        p.update.nameid_format = Some(format.clone());
    }
    if let Some(uri) = &desired.alternative_audience_uri
        && normalize::url(uri) != normalize::url(&live.alternative_audience_uri)
    {
        diff(
            "alternativeAudienceUri",
            &live.alternative_audience_uri,
            uri,
        );
        p.update.alternative_audience_uri = Some(uri.clone());
    }
    if let Some(url) = &desired.alternative_acs_url
        && normalize::url(url) != normalize::url(&live.alternative_acs_url)
    {
        diff("alternativeAcsUrl", &live.alternative_acs_url, url);
        p.update.alternative_acs_url = Some(url.clone());
    }
    if let Some(disabled) = desired.idp_initiated_auth_disabled
        && disabled != live.idp_initiated_auth_disabled
    {
        let show = |b: bool| b.to_string();
        diff(
            "idpInitiatedAuthDisabled",
            &show(live.idp_initiated_auth_disabled),
            &show(disabled),
        );
        p.update.idp_initiated_auth_disabled = Some(disabled);
    }
    if let Some(mapping) = &desired.attribute_mapping {
        let wanted: BTreeMap<String, Value> = mapping
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let current = live.attribute_mapping.clone().unwrap_or_default();
        if wanted != current {
            diff("attributeMapping", &json(&current), &json(&wanted));
            p.update.attribute_mapping = Some(wanted);
        }
    }
    if let Some(roles) = &desired.role_ids {
        let current: BTreeSet<&str> = live
            .saml_connection_implicit_role_assignments
            .iter()
            .map(|r| r.role_id.as_str())
            .collect();
        let wanted: BTreeSet<&str> = roles.iter().map(String::as_str).collect();
        if current != wanted {
            diff("roleAssignments", &join(&current), &join(&wanted));
            p.update.saml_connection_implicit_role_assignments = Some(
                roles
                    .iter()
                    .map(|r| ImplicitRoleAssignment { role_id: r.clone() })
                    .collect(),
            );
        }
    }
    if let Some(groups) = &desired.group_roles {
        let current: BTreeSet<String> = live
            .saml_group_implicit_role_assignments
            .iter()
            .map(|g| format!("{}={}", g.group, g.role_id))
            .collect();
        let wanted: BTreeSet<String> = groups.iter().map(|(g, r)| format!("{g}={r}")).collect();
        if current != wanted {
            diff("groupRoleAssignments", &join(&current), &join(&wanted));
            p.update.saml_group_implicit_role_assignments = Some(
                groups
                    .iter()
                    .map(|(group, role_id)| GroupImplicitRoleAssignment {
                        group: group.clone(),
                        role_id: role_id.clone(),
                    })
                    .collect(),
            );
        }
    }
    if let Some(key) = &desired.signing_key {
        let present = live
            .signing_certificates
            .iter()
            .filter_map(|c| parse_certificate_any_time(&c.certificate).ok())
            .any(|c| c.rsa_modulus.as_deref() == Some(key.modulus.as_slice()));
        if !present {
            diff(
                "signingPrivateKeyRef",
                "(another key or none)",
                "(the referenced key)",
            );
            p.update.signing_private_key = Some(key.pem.clone());
        }
    }
    if let Some(key) = &desired.encryption_key {
        let fingerprint_of = |pem: &str| {
            super::certs::parse_private_key(pem)
                .map(|k| k.der_sha256)
                .unwrap_or_default()
        };
        let mut present = false;
        for live_key in &live.encryption_private_keys {
            if fingerprint_of(live_key.private_key.expose()) == key.der_sha256 {
                present = true;
            } else {
                p.delete_encryption_keys
                    .push(live_key.private_key_id.clone());
            }
        }
        if !present {
            p.update.saml_encryption_private_key = Some(key.pem.clone());
        }
        if !present || !p.delete_encryption_keys.is_empty() {
            diff(
                "encryptionPrivateKeyRef",
                "(other keys)",
                "(the referenced key only)",
            );
        }
    }
    plan_idp(desired, live, &mut p);
    p
}

fn plan_idp(desired: &DesiredConnection, live: &SamlConnection, p: &mut Plan) {
    let mut diff = |field: &'static str, live: &str, desired: &str| {
        p.differences.push(Difference {
            field,
            live: live.to_owned(),
            desired: desired.to_owned(),
        });
    };
    let (entity_id, sso_url, certificates) = match &desired.idp {
        DesiredIdp::Unmanaged => return,
        DesiredIdp::Explicit {
            entity_id,
            sso_url,
            certificates,
        } => (entity_id.clone(), sso_url.clone(), certificates.clone()),
        DesiredIdp::MetadataUrl { url, metadata } => {
            let Some(meta) = metadata else {
                // Nothing fetched yet: let Stytch read the metadata when the IdP is unset.
                if live.idp_entity_id.is_empty() || live.idp_sso_url.is_empty() {
                    diff("idp.metadataUrl", "", url);
                    p.metadata_url = Some(url.clone());
                    p.metadata_url_adds = 1;
                }
                return;
            };
            let live_prints: BTreeSet<String> = live
                .verification_certificates
                .iter()
                .map(live_fingerprint)
                .collect();
            let missing_certs = meta
                .certificates
                .iter()
                .filter(|c| !live_prints.contains(&c.sha256))
                .count();
            if meta.entity_id != live.idp_entity_id
                || normalize::url(&meta.sso_url) != normalize::url(&live.idp_sso_url)
                || missing_certs > 0
            {
                diff("idp.metadataUrl", "(live IdP settings differ)", url);
                p.metadata_url = Some(url.clone());
                p.metadata_url_adds = missing_certs;
            }
            let wanted: BTreeSet<&str> = meta
                .certificates
                .iter()
                .map(|c| c.sha256.as_str())
                .collect();
            p.delete_verification_certificates = stale_certificates(live, &wanted);
            if !p.delete_verification_certificates.is_empty() {
                diff(
                    "idp.certificates",
                    "(certificates not in the metadata)",
                    "(metadata certificates)",
                );
            }
            return;
        }
    };
    if let Some(entity_id) = entity_id
        && entity_id != live.idp_entity_id
    {
        diff("idp.entityId", &live.idp_entity_id, &entity_id);
        p.update.idp_entity_id = Some(entity_id);
    }
    if let Some(sso_url) = sso_url
        && normalize::url(&sso_url) != normalize::url(&live.idp_sso_url)
    {
        diff("idp.ssoUrl", &live.idp_sso_url, &sso_url);
        p.update.idp_sso_url = Some(sso_url);
    }
    if let Some(certs) = certificates {
        let live_prints: BTreeSet<String> = live
            .verification_certificates
            .iter()
            .map(live_fingerprint)
            .collect();
        p.upload_certificates = certs
            .iter()
            .filter(|c| !live_prints.contains(&c.sha256))
            .cloned()
            .collect();
        let wanted: BTreeSet<&str> = certs.iter().map(|c| c.sha256.as_str()).collect();
        p.delete_verification_certificates = stale_certificates(live, &wanted);
        if !p.upload_certificates.is_empty() || !p.delete_verification_certificates.is_empty() {
            let live_list: Vec<_> = live_prints.iter().map(|f| short(f)).collect();
            let wanted_list: Vec<_> = certs.iter().map(|c| short(&c.sha256)).collect();
            diff(
                "idp.certificates",
                &live_list.join(", "),
                &wanted_list.join(", "),
            );
        }
    }
}

/// Live certificates to delete: those not wanted, and second copies of wanted ones (Stytch may
/// hold the same certificate twice; a copy takes one of the 5 places).
fn stale_certificates(live: &SamlConnection, wanted: &BTreeSet<&str>) -> Vec<CertificateRef> {
    let mut kept = BTreeSet::new();
    live.verification_certificates
        .iter()
        .map(|c| CertificateRef {
            id: c.certificate_id.clone(),
            sha256: live_fingerprint(c),
        })
        .filter(|c| !(wanted.contains(c.sha256.as_str()) && kept.insert(c.sha256.clone())))
        .collect()
}

fn short(fingerprint: &str) -> String {
    format!(
        "sha256:{}",
        fingerprint.chars().take(23).collect::<String>()
    )
}

fn json(map: &BTreeMap<String, Value>) -> String {
    serde_json::to_string(map).unwrap_or_default()
}

fn join<S: AsRef<str>>(set: &BTreeSet<S>) -> String {
    set.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}
