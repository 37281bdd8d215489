//! Errors of the Stytch client and their classification.

use std::time::Duration;

/// How the operator should react to an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The request is wrong and will stay wrong until the user changes something.
    Permanent,
    /// The organization, connection, certificate or key does not exist.
    NotFound,
    /// The project credentials were refused.
    Auth,
    /// Stytch rate-limited the project.
    RateLimited,
    /// Server fault or network trouble; retrying later may succeed.
    Transient,
}

impl ErrorClass {
    /// True for classes worth retrying.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Transient)
    }
}

/// What went wrong with the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made: the request never reached Stytch.
    Connect,
    /// The request timed out; Stytch may or may not have processed it.
    Timeout,
    /// Any other network failure (connection reset mid-response, protocol error).
    Other,
}

/// An error from the Stytch client. Messages never contain credentials or private keys.
#[derive(Debug, thiserror::Error)]
pub enum StytchError {
    /// Stytch answered with an error body.
    #[error("Stytch {endpoint} failed with HTTP {status} {error_type}: {message}")]
    Api {
        endpoint: &'static str,
        status: u16,
        error_type: String,
        message: String,
        request_id: String,
        retry_after: Option<Duration>,
    },
    /// The request did not complete.
    #[error("network error calling Stytch {endpoint} ({kind:?}): {message}")]
    Transport {
        endpoint: &'static str,
        kind: TransportKind,
        message: String,
    },
    /// Stytch answered something that is not the documented response.
    #[error("unexpected response from Stytch {endpoint} (HTTP {status}): {message}")]
    Decode {
        endpoint: &'static str,
        status: u16,
        message: String,
    },
    /// The client cannot be built from the given settings.
    #[error("invalid Stytch client configuration: {0}")]
    Config(String),
}

impl StytchError {
    /// Classifies the error once, by `error_type` first and HTTP status second.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api {
                status, error_type, ..
            } => classify(*status, error_type),
            Self::Transport { .. } => ErrorClass::Transient,
            Self::Decode { status, .. } if *status >= 500 => ErrorClass::Transient,
            Self::Decode { .. } => ErrorClass::Transient,
            Self::Config(_) => ErrorClass::Permanent,
        }
    }

    /// The Stytch `error_type`, when Stytch sent one.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Self::Api { error_type, .. } => Some(error_type),
            _ => None,
        }
    }

    /// The `Retry-After` delay Stytch asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when the request certainly did not reach Stytch's business logic, so even a
    /// non-idempotent write can be sent again without risking a duplicate.
    pub fn request_not_processed(&self) -> bool {
        match self {
            Self::Api { .. } => self.class() == ErrorClass::RateLimited,
            Self::Transport { kind, .. } => *kind == TransportKind::Connect,
            _ => false,
        }
    }

    /// True when the request may have taken effect without the client learning of it: it was
    /// sent, then the answer timed out or broke off. (An error status is an answer: Stytch
    /// reported the write failed.)
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Transport { kind, .. } if *kind != TransportKind::Connect)
    }
}

const NOT_FOUND_TYPES: &[&str] = &[
    "organization_not_found",
    "saml_connection_not_found",
    "sso_connection_not_found",
    "sso_verification_key_not_found",
    "sso_encryption_private_key_not_found",
    "route_not_found",
];

const AUTH_TYPES: &[&str] = &[
    "unauthorized_credentials",
    "invalid_authorization_header",
    "unauthorized_action",
    "session_authorization_error",
];

/// Classification of an error answer.
pub fn classify(status: u16, error_type: &str) -> ErrorClass {
    if error_type == "too_many_requests" || status == 429 {
        ErrorClass::RateLimited
    } else if AUTH_TYPES.contains(&error_type) || status == 401 || status == 403 {
        ErrorClass::Auth
    } else if NOT_FOUND_TYPES.contains(&error_type) {
        ErrorClass::NotFound
    } else if error_type == "internal_server_error" || status >= 500 || status == 408 {
        ErrorClass::Transient
    } else if status == 404 {
        ErrorClass::NotFound
    } else {
        ErrorClass::Permanent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let cases = [
            (429, "too_many_requests", ErrorClass::RateLimited),
            (401, "unauthorized_credentials", ErrorClass::Auth),
            (400, "invalid_authorization_header", ErrorClass::Auth),
            (404, "organization_not_found", ErrorClass::NotFound),
            (404, "saml_connection_not_found", ErrorClass::NotFound),
            (404, "sso_verification_key_not_found", ErrorClass::NotFound),
            (400, "sso_connection_not_found", ErrorClass::NotFound),
            (500, "internal_server_error", ErrorClass::Transient),
            (503, "", ErrorClass::Transient),
            (502, "bad_gateway", ErrorClass::Transient),
            (400, "invalid_x509_certificate", ErrorClass::Permanent),
            (
                400,
                "saml_connection_name_mapping_required",
                ErrorClass::Permanent,
            ),
            (
                400,
                "too_many_sso_verification_certificates",
                ErrorClass::Permanent,
            ),
            (404, "", ErrorClass::NotFound),
            (409, "duplicate_saml_connection", ErrorClass::Permanent),
        ];
        for (status, error_type, class) in cases {
            assert_eq!(classify(status, error_type), class, "{status} {error_type}");
        }
    }

    #[test]
    fn only_rate_limits_and_connect_failures_are_safe_to_resend() {
        let api = |status, error_type: &str| StytchError::Api {
            endpoint: "update_connection",
            status,
            error_type: error_type.into(),
            message: String::new(),
            request_id: String::new(),
            retry_after: None,
        };
        assert!(api(429, "too_many_requests").request_not_processed());
        assert!(!api(500, "internal_server_error").request_not_processed());
        let transport = |kind| StytchError::Transport {
            endpoint: "create_connection",
            kind,
            message: String::new(),
        };
        assert!(transport(TransportKind::Connect).request_not_processed());
        assert!(!transport(TransportKind::Timeout).request_not_processed());
        assert!(!transport(TransportKind::Other).request_not_processed());
    }
}
