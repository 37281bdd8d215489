//! Local emulators used by the operator's tests, demo and benchmarks.
//!
//! - [`stytch`]: the Stytch B2B SAML connection API (wire-compatible with the official SDKs),
//!   with test controls under `/__sandbox/`.
//! - [`kube`]: an in-memory Kubernetes API server that kube-rs and `kubectl` can drive.
//!
//! - [`demo`]: the operator reconciling `examples/` against both sandboxes.
//! - [`bench`]: the benchmark harness (`sandbox bench`, see BENCHMARKS.md).
//!
//! This crate is never linked into the operator binary.

pub mod bench;
pub mod demo;
pub mod https;
pub mod kube;
pub mod stytch;
