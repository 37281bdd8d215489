//! HTTP Basic auth (`project_id:secret`) and the per-project rate limit, applied to every
//! Stytch API request before its handler runs.

use axum::http::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::error::ApiError;
use super::server::Shared;
use super::state::{lock, unauthorized};

/// The authenticated project, put in request extensions for the handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthedProject(pub String);

fn bad_header(message: &str) -> ApiError {
    ApiError::bad_request("invalid_authorization_header", message)
}

/// `(username, password)` of a Basic `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| bad_header("missing Authorization header: use Basic project_id:secret"))?
        .to_str()
        .map_err(|_| bad_header("Authorization header is not ASCII"))?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad_header("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad_header("Authorization must use the Basic scheme"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad_header("Authorization header is not valid base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| bad_header("credentials are not UTF-8"))?;
    let (user, pass) = text
        .split_once(':')
        .ok_or_else(|| bad_header("credentials must be project_id:secret"))?;
    Ok((user.to_owned(), pass.to_owned()))
}

/// Checks credentials, then the rate limit. `Err` is the complete response to send.
pub fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    now_ms: u64,
) -> Result<AuthedProject, Box<Response>> {
    let (project_id, secret) =
        basic_credentials(headers).map_err(|e| Box::new(e.into_response()))?;
    let known = lock(&shared.store)
        .projects
        .get(&project_id)
        .is_some_and(|p| p.secret == secret);
    if !known {
        return Err(Box::new(unauthorized().into_response()));
    }
    let mut limiter = lock(&shared.limiter);
    if let Err(wait) = limiter.check(&project_id, now_ms) {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Too many requests have been made.",
        )
        .into_response();
        if limiter.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait));
        }
        return Err(Box::new(response));
    }
    Ok(AuthedProject(project_id))
}
