//! The pure pipeline: resolve + validate ([`desired`]) → diff ([`plan`]) → status ([`status`]).
//!
//! Nothing here performs I/O: the controller fetches, calls these functions, applies the calls
//! the plan lists, and writes the status they compute.

pub mod certs;
pub mod desired;
pub mod mapping;
pub mod normalize;
pub mod plan;
pub mod reasons;
pub mod status;

pub use desired::{DesiredConnection, DesiredIdp, IdpMetadata, Problem, Sources, resolve};
pub use plan::{Call, Plan, plan};
pub use reasons::Reason;
pub use status::{Outcome, StatusInput};

#[cfg(test)]
mod tests;
