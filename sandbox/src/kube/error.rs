//! API errors rendered as `meta/v1` `Status` objects.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One field-level cause of an `Invalid` error.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// Machine reason, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// Human message without the field prefix, e.g. `Required value`.
    pub message: String,
    /// Field path, e.g. `spec.size`.
    pub field: String,
}

impl Cause {
    /// Builds a cause.
    pub fn new(reason: &str, field: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_string(),
            message: message.into(),
            field: field.to_string(),
        }
    }
}

/// An error answered to a client as a `Status` object.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 NotFound.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: String, name: String },
    /// 404 for unknown paths.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409 AlreadyExists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists { resource: String, name: String },
    /// 409 Conflict.
    #[error(
        "Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { resource: String, name: String },
    /// 409 Conflict of server-side apply field managers.
    #[error("Apply failed with {} conflict{}: {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, join_conflicts(.0))]
    ApplyConflict(Vec<Cause>),
    /// 422 Invalid.
    #[error("{kind_group} \"{name}\" is invalid: {}", join_causes(.causes))]
    Invalid {
        kind_group: String,
        kind: String,
        group: String,
        name: String,
        causes: Vec<Cause>,
    },
    /// 400 BadRequest.
    #[error("{0}")]
    BadRequest(String),
    /// 403 Forbidden.
    #[error("{0}")]
    Forbidden(String),
    /// 405 MethodNotAllowed.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 410 Gone.
    #[error("{0}")]
    Gone(String),
    /// 415 UnsupportedMediaType.
    #[error("the body of the request was in an unknown format - accepted media types include: {0}")]
    UnsupportedMediaType(String),
    /// Injected fault or internal error with an arbitrary code.
    #[error("{message}")]
    Custom {
        code: u16,
        reason: String,
        message: String,
    },
}

fn join_conflicts(causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.message, c.field))
        .collect();
    parts.join("\n")
}

fn join_causes(causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.field.is_empty() {
                c.message.clone()
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect();
    if parts.len() == 1 {
        parts.join("")
    } else {
        format!("[{}]", parts.join(", "))
    }
}

impl ApiError {
    /// HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::NoRoute => 404,
            Self::AlreadyExists { .. } | Self::Conflict { .. } | Self::ApplyConflict(_) => 409,
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::MethodNotAllowed => 405,
            Self::Gone(_) => 410,
            Self::UnsupportedMediaType(_) => 415,
            Self::Custom { code, .. } => *code,
        }
    }

    /// Kubernetes `reason`.
    pub fn reason(&self) -> String {
        match self {
            Self::NotFound { .. } | Self::NoRoute => "NotFound".into(),
            Self::AlreadyExists { .. } => "AlreadyExists".into(),
            Self::Conflict { .. } | Self::ApplyConflict(_) => "Conflict".into(),
            Self::Invalid { .. } => "Invalid".into(),
            Self::BadRequest(_) => "BadRequest".into(),
            Self::Forbidden(_) => "Forbidden".into(),
            Self::MethodNotAllowed => "MethodNotAllowed".into(),
            Self::Gone(_) => "Expired".into(),
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType".into(),
            Self::Custom { reason, .. } => reason.clone(),
        }
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            Self::NotFound { resource, name }
            | Self::AlreadyExists { resource, name }
            | Self::Conflict { resource, name } => Some(details(resource, name)),
            Self::Invalid {
                kind,
                group,
                name,
                causes,
                ..
            } => Some(json!({
                "name": name, "group": group, "kind": kind,
                "causes": causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect::<Vec<_>>(),
            })),
            Self::ApplyConflict(causes) => Some(json!({
                "causes": causes.iter().map(|c| json!({"reason": c.reason, "message": format!("{}: {}", c.message, c.field), "field": c.field})).collect::<Vec<_>>(),
            })),
            _ => None,
        };
        if let Some(d) = details {
            status["details"] = d;
        }
        status
    }
}

fn details(resource: &str, name: &str) -> Value {
    let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
    json!({"name": name, "group": group, "kind": kind})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        tracing::debug!(code = self.code(), message = %self, "api error");
        (
            code,
            [("content-type", "application/json")],
            self.status().to_string(),
        )
            .into_response()
    }
}

/// Result alias for API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
