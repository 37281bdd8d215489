//! How Stytch applies the planner's calls to a connection, as far as the planner relies on it
//! (see `/work/shared/stytch-b2b-saml-api.md` §2–3): an Update sets the fields it carries and
//! adds its `x509_certificate`; setting the signing key replaces the signing certificate;
//! setting the encryption key adds one; deletes remove by id; an update by metadata URL sets
//! the IdP fields and adds the metadata's certificates.

use stytch_saml_operator::reconcile::certs::{parse_certificate_any_time, parse_private_key};
use stytch_saml_operator::reconcile::{Call, IdpMetadata};
use stytch_saml_operator::secret::SecretString;
use stytch_saml_operator::stytch::model::{
    EncryptionPrivateKey, SamlConnection, UpdateConnectionRequest, X509Certificate,
};

use crate::planner_input::{KEY_A, SIGNING_CERT_A};

/// Why the model cannot apply a call.
#[derive(Debug, PartialEq, Eq)]
pub enum SimError {
    /// The call names a certificate or key the connection does not have.
    UnknownId(String),
    /// A signing key other than the test key with a known certificate: not modelled.
    UnmodelledSigningKey,
}

/// Applies one call. `metadata` is what the IdP's metadata URL serves, when known.
pub fn apply(
    live: &mut SamlConnection,
    call: &Call,
    metadata: Option<&IdpMetadata>,
    next_id: &mut u32,
) -> Result<(), SimError> {
    let mut fresh_id = |prefix: &str| {
        *next_id += 1;
        format!("{prefix}-new-{next_id}")
    };
    match call {
        Call::UpdateByUrl(url) => match metadata {
            Some(meta) => {
                live.idp_entity_id = meta.entity_id.clone();
                live.idp_sso_url = meta.sso_url.clone();
                for cert in &meta.certificates {
                    let present = live.verification_certificates.iter().any(|c| {
                        parse_certificate_any_time(&c.certificate)
                            .is_ok_and(|p| p.sha256 == cert.sha256)
                    });
                    if !present {
                        let id = fresh_id("v");
                        live.verification_certificates
                            .push(x509(id, cert.pem.clone()));
                    }
                }
            }
            None => {
                live.idp_entity_id = "entity-from-metadata".into();
                live.idp_sso_url = url.clone();
            }
        },
        Call::Update(body) => update(live, body, &mut fresh_id)?,
        Call::DeleteVerificationCertificate(id) => {
            let before = live.verification_certificates.len();
            live.verification_certificates
                .retain(|c| &c.certificate_id != id);
            if live.verification_certificates.len() == before {
                return Err(SimError::UnknownId(id.clone()));
            }
        }
        Call::DeleteEncryptionKey(id) => {
            let before = live.encryption_private_keys.len();
            live.encryption_private_keys
                .retain(|k| &k.private_key_id != id);
            if live.encryption_private_keys.len() == before {
                return Err(SimError::UnknownId(id.clone()));
            }
        }
    }
    Ok(())
}

fn x509(id: String, certificate: String) -> X509Certificate {
    X509Certificate {
        certificate_id: id,
        certificate,
        ..Default::default()
    }
}

fn update(
    live: &mut SamlConnection,
    body: &UpdateConnectionRequest,
    fresh_id: &mut impl FnMut(&str) -> String,
) -> Result<(), SimError> {
    let set = |target: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            target.clone_from(v);
        }
    };
    set(&mut live.idp_entity_id, &body.idp_entity_id);
    set(&mut live.display_name, &body.display_name);
    set(&mut live.idp_sso_url, &body.idp_sso_url);
    set(
        &mut live.alternative_audience_uri,
        &body.alternative_audience_uri,
    );
    set(&mut live.identity_provider, &body.identity_provider);
    set(&mut live.nameid_format, &body.nameid_format);
    set(&mut live.alternative_acs_url, &body.alternative_acs_url);
    if let Some(v) = body.idp_initiated_auth_disabled {
        live.idp_initiated_auth_disabled = v;
    }
    if let Some(mapping) = &body.attribute_mapping {
        live.attribute_mapping = Some(mapping.clone());
    }
    if let Some(roles) = &body.saml_connection_implicit_role_assignments {
        live.saml_connection_implicit_role_assignments
            .clone_from(roles);
    }
    if let Some(groups) = &body.saml_group_implicit_role_assignments {
        live.saml_group_implicit_role_assignments.clone_from(groups);
    }
    if let Some(pem) = &body.x509_certificate {
        let id = fresh_id("v");
        live.verification_certificates.push(x509(id, pem.clone()));
    }
    if let Some(key) = &body.signing_private_key {
        let same_as_a = |pem: &str| parse_private_key(pem).ok().map(|k| k.der_sha256);
        if same_as_a(key.expose()) != same_as_a(KEY_A) {
            return Err(SimError::UnmodelledSigningKey);
        }
        live.signing_certificates = vec![x509(fresh_id("s"), SIGNING_CERT_A.into())];
    }
    if let Some(key) = &body.saml_encryption_private_key {
        live.encryption_private_keys.push(EncryptionPrivateKey {
            private_key_id: fresh_id("k"),
            private_key: SecretString::new(key.expose()),
            created_at: None,
        });
    }
    Ok(())
}
