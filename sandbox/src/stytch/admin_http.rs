//! HTTP test controls under `/__sandbox/` (no auth, never logged, not part of the Stytch API):
//!
//! | method & path | body / answer |
//! | --- | --- |
//! | `POST /__sandbox/seed` | a seed (same schema as the YAML seed, in JSON); replaces all state |
//! | `POST /__sandbox/reset` | restores the start-up seed, clears log and fault rules |
//! | `GET /__sandbox/requests` | `{entries: [LogEntry], counters: Counters}` |
//! | `DELETE /__sandbox/requests` | clears log and counters |
//! | `GET /__sandbox/counters` | `Counters` |
//! | `GET /__sandbox/faults`, `POST /__sandbox/faults` (a `FaultRule`), `DELETE /__sandbox/faults`, `DELETE /__sandbox/faults/{id}` | fault rules |
//! | `GET`/`PUT /__sandbox/rate_limit` | `{rate_limit_per_second, retry_after}` |
//! | `GET`/`PUT /__sandbox/behaviour` | `Behaviour` |
//! | `GET /__sandbox/projects/{p}/organizations/{org}/connections` | `[SAMLConnection]` |
//! | `POST /__sandbox/projects/{p}/organizations/{org}/connections` | insert/replace a connection as-is |
//! | `PATCH /__sandbox/projects/{p}/organizations/{org}/connections/{cid}` | out-of-band edit (raw field replace; `?validate=true` applies the update rules) |
//! | `DELETE /__sandbox/projects/{p}/organizations/{org}/connections/{cid}` | delete without logging |

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{Admin, RateLimitSettings};
use super::config::{Behaviour, Seed};
use super::error::SandboxError;
use super::faults::FaultRule;
use super::model::SamlConnection;
use super::server::Shared;

type Shr = State<Arc<Shared>>;

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        match self {
            SandboxError::Api(e) => e.into_response(),
            other => (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": other.to_string()})),
            )
                .into_response(),
        }
    }
}

fn admin(s: Arc<Shared>) -> Admin {
    Admin::new(s)
}

async fn seed(State(s): Shr, Json(seed): Json<Seed>) -> Result<Json<Value>, SandboxError> {
    admin(s).seed(seed)?;
    Ok(Json(json!({"ok": true})))
}

async fn reset(State(s): Shr) -> Result<Json<Value>, SandboxError> {
    admin(s).reset()?;
    Ok(Json(json!({"ok": true})))
}

async fn requests(State(s): Shr) -> Json<Value> {
    let a = admin(s);
    Json(json!({"entries": a.requests(), "counters": a.counters()}))
}

async fn clear_requests(State(s): Shr) -> StatusCode {
    admin(s).clear_requests();
    StatusCode::NO_CONTENT
}

async fn counters(State(s): Shr) -> Json<Value> {
    Json(json!(admin(s).counters()))
}

async fn faults(State(s): Shr) -> Json<Vec<FaultRule>> {
    Json(admin(s).faults())
}

async fn add_fault(State(s): Shr, Json(rule): Json<FaultRule>) -> Json<FaultRule> {
    Json(admin(s).add_fault(rule))
}

async fn clear_faults(State(s): Shr) -> StatusCode {
    admin(s).clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(s): Shr, Path(id): Path<String>) -> StatusCode {
    if admin(s).remove_fault(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn rate_limit(State(s): Shr) -> Json<RateLimitSettings> {
    Json(admin(s).rate_limit())
}

async fn set_rate_limit(
    State(s): Shr,
    Json(r): Json<RateLimitSettings>,
) -> Json<RateLimitSettings> {
    let a = admin(s);
    a.set_rate_limit(r.rate_limit_per_second, Some(r.retry_after));
    Json(a.rate_limit())
}

async fn behaviour(State(s): Shr) -> Json<Behaviour> {
    Json(admin(s).behaviour())
}

async fn set_behaviour(State(s): Shr, Json(b): Json<Behaviour>) -> Json<Behaviour> {
    let a = admin(s);
    a.set_behaviour(b);
    Json(a.behaviour())
}

async fn list_connections(
    State(s): Shr,
    Path((p, org)): Path<(String, String)>,
) -> Result<Json<Vec<SamlConnection>>, SandboxError> {
    Ok(Json(admin(s).connections(&p, &org)?))
}

async fn put_connection(
    State(s): Shr,
    Path((p, org)): Path<(String, String)>,
    Json(conn): Json<SamlConnection>,
) -> Result<Json<SamlConnection>, SandboxError> {
    Ok(Json(admin(s).put_connection(&p, &org, conn)?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EditQuery {
    validate: bool,
}

async fn edit_connection(
    State(s): Shr,
    Path((p, org, cid)): Path<(String, String, String)>,
    Query(q): Query<EditQuery>,
    Json(patch): Json<Value>,
) -> Result<Json<SamlConnection>, SandboxError> {
    let a = admin(s);
    let conn = if q.validate {
        a.update_connection(&p, &org, &cid, patch)?
    } else {
        a.edit_connection(&p, &org, &cid, patch)?
    };
    Ok(Json(conn))
}

async fn delete_connection(
    State(s): Shr,
    Path((p, org, cid)): Path<(String, String, String)>,
) -> Result<StatusCode, SandboxError> {
    Ok(if admin(s).delete_connection(&p, &org, &cid)? {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

/// Routes under `/__sandbox/`.
pub fn routes() -> Router<Arc<Shared>> {
    let conns = "/__sandbox/projects/{p}/organizations/{org}/connections";
    Router::new()
        .route("/__sandbox/seed", post(seed))
        .route("/__sandbox/reset", post(reset))
        .route("/__sandbox/requests", get(requests).delete(clear_requests))
        .route("/__sandbox/counters", get(counters))
        .route(
            "/__sandbox/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/__sandbox/faults/{id}", delete(remove_fault))
        .route("/__sandbox/rate_limit", get(rate_limit).put(set_rate_limit))
        .route("/__sandbox/behaviour", get(behaviour).put(set_behaviour))
        .route(conns, get(list_connections).post(put_connection))
        .route(
            &format!("{conns}/{{cid}}"),
            patch(edit_connection).delete(delete_connection),
        )
}
