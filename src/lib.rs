//! stytch-saml-operator: manage Stytch B2B SAML SSO connections from Kubernetes.
//!
//! The crate is a pure core with a thin I/O shell:
//! - [`api`]: the `SamlConnection` custom resource (the public contract);
//! - [`stytch`]: a typed client for the Stytch B2B SAML connection API;
//! - [`reconcile`]: the pure pipeline `resolve + validate → plan → status`.

pub mod api;
pub mod controller;
pub mod docs;
pub mod gitops;
pub mod http;
pub mod leader;
pub mod metadata;
pub mod metrics;
pub mod operator;
pub mod reconcile;
pub mod secret;
pub mod shutdown;
pub mod stytch;
pub mod telemetry;
