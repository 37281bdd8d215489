//! Typed client for the Stytch B2B SAML connection API (see `shared/stytch-b2b-saml-api.md`).

mod client;
mod credentials;
mod error;
pub mod model;
mod retry;

pub use client::{RequestObserver, StytchClient, StytchConfig, StytchPool, source_chain};
pub use credentials::{Credentials, CredentialsError, LIVE_BASE_URL, TEST_BASE_URL};
pub use error::{ErrorClass, StytchError, TransportKind, classify};
pub use retry::{RetryPolicy, TokenBucket};
