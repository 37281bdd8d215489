//! The seven Stytch endpoints (reference §2). Handlers run after auth; path parameters arrive
//! percent-decoded; bodies are parsed leniently (empty body = `{}`, unknown fields ignored,
//! any `Content-Type`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::auth::AuthedProject;
use super::connection::{self, add_verification_certificate, refresh_status};
use super::error::ApiError;
use super::metadata;
use super::model::{
    ConnectionResponse, CreateConnectionBody, GetConnectionsResponse, STATUS_ACTIVE,
    SamlConnection, UpdateByUrlBody, UpdateConnectionBody, new_request_id,
};
use super::server::Shared;
use super::state::lock;
use super::validate;

type Shr = State<Arc<Shared>>;
type Project = Extension<AuthedProject>;
type ApiResult = Result<Json<Value>, ApiError>;

fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_request", format!("invalid JSON body: {e}")))
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value).map(Json).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            e.to_string(),
        )
    })
}

fn connection_ok(connection: SamlConnection) -> ApiResult {
    ok(ConnectionResponse {
        request_id: new_request_id(),
        status_code: 200,
        connection,
    })
}

async fn create(
    State(s): Shr,
    Extension(p): Project,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: CreateConnectionBody = parse_body(&body)?;
    let idp = body
        .identity_provider
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "generic".to_owned());
    validate::identity_provider(&idp)?;
    let mut store = lock(&s.store);
    let organization = store.project_mut(&p.0)?.organization_mut(&org)?;
    let conn = connection::new_connection(
        &organization.organization_id,
        body.display_name.unwrap_or_default(),
        idp,
        &s.public_base_url,
    );
    organization.put(conn.clone());
    tracing::info!(connection_id = %conn.connection_id, "created SAML connection");
    connection_ok(conn)
}

async fn update(
    State(s): Shr,
    Extension(p): Project,
    Path((org, cid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body: UpdateConnectionBody = parse_body(&body)?;
    let behaviour = lock(&s.behaviour).clone();
    let mut store = lock(&s.store);
    let organization = store.project_mut(&p.0)?.organization_mut(&org)?;
    let updated = connection::apply_update(organization.saml_connection(&cid)?, body, &behaviour)?;
    organization.put(updated.clone());
    connection_ok(updated)
}

async fn update_by_url(
    State(s): Shr,
    Extension(p): Project,
    Path((org, cid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body: UpdateByUrlBody = parse_body(&body)?;
    let behaviour = lock(&s.behaviour).clone();
    {
        let store = lock(&s.store);
        store
            .project(&p.0)?
            .organization(&org)?
            .saml_connection(&cid)?;
    }
    let url = body
        .metadata_url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_saml_metadata_url", "metadata_url is required")
        })?;
    let xml = metadata::fetch(&url, &behaviour).await?;
    let md = metadata::parse(&xml)?;
    let mut store = lock(&s.store);
    let organization = store.project_mut(&p.0)?.organization_mut(&org)?;
    let mut conn = organization.saml_connection(&cid)?.clone();
    conn.idp_entity_id = md.entity_id;
    conn.idp_sso_url = md.sso_url;
    for (pem, info) in &md.certificates {
        add_verification_certificate(&mut conn, pem, info, &behaviour)?;
    }
    refresh_status(&mut conn);
    organization.put(conn.clone());
    connection_ok(conn)
}

async fn delete_verification_certificate(
    State(s): Shr,
    Extension(p): Project,
    Path((org, cid, cert_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut store = lock(&s.store);
    let organization = store.project_mut(&p.0)?.organization_mut(&org)?;
    let mut conn = organization.saml_connection(&cid)?.clone();
    let index = conn
        .verification_certificates
        .iter()
        .position(|c| c.certificate_id == cert_id)
        .ok_or_else(|| {
            ApiError::not_found(
                "sso_verification_key_not_found",
                format!("verification certificate {cert_id:?} not found"),
            )
        })?;
    if conn.status == STATUS_ACTIVE && conn.verification_certificates.len() == 1 {
        return Err(ApiError::bad_request(
            "cannot_delete_last_sso_verification_key",
            "an active connection must keep at least one verification certificate",
        ));
    }
    conn.verification_certificates.remove(index);
    organization.put(conn);
    ok(json!({"request_id": new_request_id(), "status_code": 200, "certificate_id": cert_id}))
}

async fn delete_encryption_private_key(
    State(s): Shr,
    Extension(p): Project,
    Path((org, cid, key_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut store = lock(&s.store);
    let organization = store.project_mut(&p.0)?.organization_mut(&org)?;
    let mut conn = organization.saml_connection(&cid)?.clone();
    let before = conn.encryption_private_keys.len();
    conn.encryption_private_keys
        .retain(|k| k.private_key_id != key_id);
    if conn.encryption_private_keys.len() == before {
        return Err(ApiError::not_found(
            "sso_encryption_private_key_not_found",
            format!("encryption private key {key_id:?} not found"),
        ));
    }
    organization.put(conn);
    ok(json!({"request_id": new_request_id(), "status_code": 200, "private_key_id": key_id}))
}

async fn get_connections(
    State(s): Shr,
    Extension(p): Project,
    Path(org): Path<String>,
) -> ApiResult {
    let store = lock(&s.store);
    let organization = store.project(&p.0)?.organization(&org)?;
    ok(GetConnectionsResponse {
        request_id: new_request_id(),
        status_code: 200,
        saml_connections: organization.connections.clone(),
        oidc_connections: Vec::new(),
        external_connections: Vec::new(),
    })
}

async fn delete_connection(
    State(s): Shr,
    Extension(p): Project,
    Path((org, cid)): Path<(String, String)>,
) -> ApiResult {
    let mut store = lock(&s.store);
    let organization = store.project_mut(&p.0)?.organization_mut(&org)?;
    if organization.connection(&cid).is_none() {
        return Err(ApiError::not_found(
            "sso_connection_not_found",
            format!("SSO connection {cid:?} not found"),
        ));
    }
    organization.connections.retain(|c| c.connection_id != cid);
    tracing::info!(connection_id = %cid, "deleted SSO connection");
    ok(json!({"request_id": new_request_id(), "status_code": 200, "connection_id": cid}))
}

async fn route_not_found() -> ApiError {
    ApiError::not_found("route_not_found", "No route matches this path.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This method is not allowed on this path.",
    )
}

/// Routes of the Stytch surface.
pub fn routes() -> Router<Arc<Shared>> {
    let saml = "/v1/b2b/sso/saml/{org}/connections/{cid}";
    Router::new()
        .route("/v1/b2b/sso/saml/{org}", post(create))
        .route(saml, put(update))
        .route(&format!("{saml}/url"), put(update_by_url))
        .route(
            &format!("{saml}/verification_certificates/{{id}}"),
            delete(delete_verification_certificate),
        )
        .route(
            &format!("{saml}/encryption_private_keys/{{id}}"),
            delete(delete_encryption_private_key),
        )
        .route("/v1/b2b/sso/{org}", get(get_connections))
        .route(
            "/v1/b2b/sso/{org}/connections/{cid}",
            delete(delete_connection),
        )
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
}
