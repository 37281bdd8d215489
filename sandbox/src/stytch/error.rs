//! Errors: [`ApiError`] is a Stytch-shaped error response (reference §4.1); [`SandboxError`]
//! covers starting the sandbox and loading seeds.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::model::new_request_id;

/// An error answered to a Stytch API client as
/// `{status_code, request_id, error_type, error_message, error_url}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {error_type}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: String,
    pub message: String,
}

/// JSON body of an error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub status_code: u16,
    pub request_id: String,
    pub error_type: String,
    pub error_message: String,
    pub error_url: String,
}

impl ApiError {
    /// Any status and error type.
    pub fn new(status: StatusCode, error_type: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type: error_type.to_owned(),
            message: message.into(),
        }
    }

    /// 400 validation error.
    pub fn bad_request(error_type: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error_type, message)
    }

    /// 404 not-found error.
    pub fn not_found(error_type: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error_type, message)
    }

    /// The JSON body, with a fresh `request_id`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status_code: self.status.as_u16(),
            request_id: new_request_id(),
            error_type: self.error_type.clone(),
            error_message: self.message.clone(),
            error_url: format!(
                "https://stytch.com/docs/api-reference/b2b/api/errors/{}#{}",
                self.status.as_u16(),
                self.error_type
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Failures of the sandbox itself (not of an API call).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid seed: {0}")]
    Seed(String),
    #[error("invalid YAML seed: {0}")]
    Yaml(String),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("admin request failed: {0}")]
    Api(#[from] ApiError),
}
