//! Connection behaviour: creation, partial updates, certificate accumulation and the
//! `pending` → `active` transition. Every function works on a copy, so a rejected update
//! leaves the stored connection untouched.

use serde_json::Value;

use super::certs::{self, CertInfo};
use super::config::Behaviour;
use super::error::ApiError;
use super::model::{
    DEFAULT_NAMEID_FORMAT, EncryptionPrivateKey, STATUS_ACTIVE, STATUS_PENDING, SamlConnection,
    UpdateConnectionBody, now_rfc3339,
};
use super::validate;

/// `<base>/v1/b2b/sso/callback/<connection_id>`, used for both `acs_url` and `audience_uri`.
pub fn callback_url(base_url: &str, connection_id: &str) -> String {
    format!(
        "{}/v1/b2b/sso/callback/{connection_id}",
        base_url.trim_end_matches('/')
    )
}

/// A new `pending` connection.
pub fn new_connection(
    organization_id: &str,
    display_name: String,
    identity_provider: String,
    base_url: &str,
) -> SamlConnection {
    let connection_id = format!("saml-connection-test-{}", uuid::Uuid::new_v4());
    let url = callback_url(base_url, &connection_id);
    SamlConnection {
        organization_id: organization_id.to_owned(),
        status: STATUS_PENDING.to_owned(),
        display_name,
        acs_url: url.clone(),
        audience_uri: url,
        identity_provider,
        nameid_format: DEFAULT_NAMEID_FORMAT.to_owned(),
        connection_id,
        ..SamlConnection::default()
    }
}

/// Whether the four activation prerequisites are present.
pub fn is_complete(conn: &SamlConnection) -> bool {
    !conn.idp_sso_url.is_empty()
        && !conn.idp_entity_id.is_empty()
        && !conn.attribute_mapping.is_empty()
        && !conn.verification_certificates.is_empty()
}

/// `pending` becomes `active` once complete; an active connection never goes back.
pub fn refresh_status(conn: &mut SamlConnection) {
    if is_complete(conn) {
        conn.status = STATUS_ACTIVE.to_owned();
    } else if conn.status.is_empty() {
        conn.status = STATUS_PENDING.to_owned();
    }
}

/// Adds a verification certificate (deduplicated by DER unless configured otherwise).
pub fn add_verification_certificate(
    conn: &mut SamlConnection,
    pem: &str,
    info: &CertInfo,
    behaviour: &Behaviour,
) -> Result<(), ApiError> {
    if behaviour.dedupe_certificates
        && conn
            .verification_certificates
            .iter()
            .any(|c| certs::parse_certificate_pem(&c.certificate).is_ok_and(|i| i.der == info.der))
    {
        return Ok(());
    }
    if conn.verification_certificates.len() >= behaviour.max_verification_certificates {
        return Err(ApiError::bad_request(
            "too_many_sso_verification_certificates",
            format!(
                "a connection can have at most {} verification certificates; delete one first",
                behaviour.max_verification_certificates
            ),
        ));
    }
    conn.verification_certificates
        .push(certs::verification_entry(pem, info));
    Ok(())
}

fn add_encryption_key(
    conn: &mut SamlConnection,
    pem: &str,
    behaviour: &Behaviour,
) -> Result<(), ApiError> {
    let (_, der) = certs::parse_rsa_pkcs1(pem, "saml_encryption_private_key")?;
    if behaviour.dedupe_certificates
        && conn.encryption_private_keys.iter().any(|k| {
            certs::parse_rsa_pkcs1(&k.private_key, "stored key").is_ok_and(|(_, d)| d == der)
        })
    {
        return Ok(());
    }
    if conn.encryption_private_keys.len() >= behaviour.max_encryption_private_keys {
        return Err(ApiError::bad_request(
            "too_many_encryption_certificates",
            format!(
                "a connection can have at most {} encryption private keys",
                behaviour.max_encryption_private_keys
            ),
        ));
    }
    conn.encryption_private_keys.push(EncryptionPrivateKey {
        private_key_id: format!("saml-encryption-key-test-{}", uuid::Uuid::new_v4()),
        private_key: pem.to_owned(),
        created_at: Some(now_rfc3339()),
    });
    Ok(())
}

/// Drops empty values when the sandbox is configured to ignore them.
fn keep<T>(value: Option<T>, is_empty: impl Fn(&T) -> bool, clear: bool) -> Option<T> {
    value.filter(|v| clear || !is_empty(v))
}

/// Applies a partial update to a copy of `current` and returns the new connection.
pub fn apply_update(
    current: &SamlConnection,
    body: UpdateConnectionBody,
    behaviour: &Behaviour,
) -> Result<SamlConnection, ApiError> {
    let clear = behaviour.empty_values_clear;
    let active = current.status == STATUS_ACTIVE;
    let mut conn = current.clone();

    // Values that are "add" operations or enums: an empty string is always ignored.
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    if let Some(idp) = nonempty(body.identity_provider) {
        validate::identity_provider(&idp)?;
        conn.identity_provider = idp;
    }
    let mapping_empty =
        |v: &Value| v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty);
    if let Some(mapping) = keep(body.attribute_mapping, mapping_empty, clear) {
        if mapping_empty(&mapping) {
            if active {
                return Err(ApiError::bad_request(
                    "saml_connection_attribute_mapping_required",
                    "an active connection needs an attribute_mapping",
                ));
            }
            conn.attribute_mapping.clear();
        } else {
            conn.attribute_mapping = validate::attribute_mapping(&mapping)?;
        }
    }
    if let Some(url) = keep(body.idp_sso_url, String::is_empty, clear) {
        if url.is_empty() && active {
            return Err(ApiError::bad_request(
                "saml_connection_idp_sso_url_required",
                "an active connection needs an idp_sso_url",
            ));
        }
        if !url.is_empty() {
            validate::idp_sso_url(&url)?;
        }
        conn.idp_sso_url = url;
    }
    if let Some(entity) = keep(body.idp_entity_id, String::is_empty, clear) {
        if entity.is_empty() && active {
            return Err(ApiError::bad_request(
                "invalid_idp_entity_id",
                "an active connection needs an idp_entity_id",
            ));
        }
        conn.idp_entity_id = entity;
    }
    if let Some(roles) = keep(
        body.saml_connection_implicit_role_assignments,
        Vec::is_empty,
        clear,
    ) {
        validate::connection_roles(&roles)?;
        conn.saml_connection_implicit_role_assignments = roles;
    }
    let groups_given = body.saml_group_implicit_role_assignments.is_some();
    if let Some(roles) = keep(
        body.saml_group_implicit_role_assignments,
        Vec::is_empty,
        clear,
    ) {
        validate::group_roles(&roles)?;
        conn.saml_group_implicit_role_assignments = roles;
    }
    if groups_given || conn.attribute_mapping != current.attribute_mapping {
        validate::groups_key(
            &conn.attribute_mapping,
            &conn.saml_group_implicit_role_assignments,
        )?;
    }
    for (value, field) in [
        (body.display_name, &mut conn.display_name),
        (
            body.alternative_audience_uri,
            &mut conn.alternative_audience_uri,
        ),
        (body.alternative_acs_url, &mut conn.alternative_acs_url),
    ] {
        if let Some(v) = keep(value, String::is_empty, clear) {
            *field = v;
        }
    }
    if let Some(format) = nonempty(body.nameid_format) {
        conn.nameid_format = format;
    }
    if let Some(v) = body.idp_initiated_auth_disabled {
        conn.idp_initiated_auth_disabled = v;
    }
    if let Some(v) = body.allow_gateway_callback {
        conn.allow_gateway_callback = v;
    }
    if let Some(pem) = nonempty(body.x509_certificate) {
        let info = certs::parse_certificate_pem(&pem)?;
        add_verification_certificate(&mut conn, &pem, &info, behaviour)?;
    }
    if let Some(pem) = nonempty(body.signing_private_key) {
        conn.signing_certificates = vec![certs::signing_certificate(&pem)?];
    }
    if let Some(pem) = nonempty(body.saml_encryption_private_key) {
        add_encryption_key(&mut conn, &pem, behaviour)?;
    }
    refresh_status(&mut conn);
    Ok(conn)
}

/// Fills in what a seeded or dashboard-edited connection leaves out.
pub fn complete_seeded(
    mut conn: SamlConnection,
    organization_id: &str,
    base_url: &str,
) -> Result<SamlConnection, ApiError> {
    conn.organization_id = organization_id.to_owned();
    if conn.connection_id.is_empty() {
        conn.connection_id = format!("saml-connection-test-{}", uuid::Uuid::new_v4());
    }
    if conn.acs_url.is_empty() {
        conn.acs_url = callback_url(base_url, &conn.connection_id);
    }
    if conn.audience_uri.is_empty() {
        conn.audience_uri = callback_url(base_url, &conn.connection_id);
    }
    if conn.nameid_format.is_empty() {
        conn.nameid_format = DEFAULT_NAMEID_FORMAT.to_owned();
    }
    if conn.identity_provider.is_empty() {
        conn.identity_provider = "generic".to_owned();
    }
    for cert in &mut conn.verification_certificates {
        let info = certs::parse_certificate_pem(&cert.certificate)?;
        let fresh = certs::verification_entry(&cert.certificate, &info);
        if cert.certificate_id.is_empty() {
            cert.certificate_id = fresh.certificate_id;
        }
        if cert.issuer.is_empty() {
            cert.issuer = fresh.issuer;
        }
        cert.created_at = cert.created_at.take().or(fresh.created_at);
        cert.expires_at = cert.expires_at.take().or(fresh.expires_at);
        cert.updated_at = cert.updated_at.take().or(fresh.updated_at);
    }
    for key in &mut conn.encryption_private_keys {
        if key.private_key_id.is_empty() {
            key.private_key_id = format!("saml-encryption-key-test-{}", uuid::Uuid::new_v4());
        }
        key.created_at = key.created_at.take().or_else(|| Some(now_rfc3339()));
    }
    refresh_status(&mut conn);
    Ok(conn)
}
