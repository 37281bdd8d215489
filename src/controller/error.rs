//! Reconcile errors, classified once: a stable reason, whether it waits for a user change, and
//! how soon to retry.

use std::time::Duration;

use crate::reconcile::{Problem, Reason};
use crate::stytch::{ErrorClass, StytchError};

/// Why a reconcile did not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec or its Secrets/ConfigMaps are invalid; waits for a change.
    #[error("{}", problems_message(.0))]
    Invalid(Vec<Problem>),
    /// A permanent condition other than validation (not found, ambiguous adoption, auth).
    #[error("{message}")]
    Permanent { reason: Reason, message: String },
    /// Stytch refused or failed the call.
    #[error(transparent)]
    Stytch(#[from] StytchError),
    /// The Kubernetes API failed.
    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    /// The IdP metadata could not be fetched (network) — retried.
    #[error("{message}")]
    Transient { reason: Reason, message: String },
}

fn problems_message(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The condition reason.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Invalid(problems) => problems
                .first()
                .map_or(Reason::StytchRequestRejected, |p| p.reason),
            Self::Permanent { reason, .. } | Self::Transient { reason, .. } => *reason,
            Self::Stytch(e) => match e.class() {
                ErrorClass::Auth => Reason::InvalidCredentials,
                ErrorClass::RateLimited => Reason::RateLimited,
                ErrorClass::Transient => Reason::StytchUnavailable,
                ErrorClass::NotFound | ErrorClass::Permanent => e
                    .error_type()
                    .and_then(Reason::from_error_type)
                    .unwrap_or(Reason::StytchRequestRejected),
            },
            Self::Kube(_) => Reason::KubernetesApiError,
        }
    }

    /// True when retrying cannot help until the resource or a referenced object changes.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::Permanent { .. } => true,
            Self::Stytch(e) => !e.class().is_retryable(),
            Self::Kube(_) | Self::Transient { .. } => false,
        }
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Stytch(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The message for conditions and Events; names the credentials Secret for auth failures.
    pub fn message(&self, credentials_secret: &str) -> String {
        match self {
            Self::Stytch(e) if e.class() == ErrorClass::Auth => format!(
                "Stytch refused the credentials in Secret `{credentials_secret}` ({}): check project_id and secret",
                e.error_type().unwrap_or("unauthorized")
            ),
            other => other.to_string(),
        }
    }
}
