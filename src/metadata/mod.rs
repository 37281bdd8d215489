//! IdP SAML metadata: fetching it from `spec.idp.metadataUrl` ([`fetch`]) and parsing it into
//! the [`IdpMetadata`](crate::reconcile::IdpMetadata) the planner compares with the live
//! connection ([`parse`]).
//!
//! Parsing is pure and refuses DTDs, so entities are never expanded. Fetching is https only,
//! limited to allow-listed hosts (checked before connecting and on every redirect), follows at
//! most [`MAX_REDIRECTS`] redirects, and bounds both the body size and the total time.

pub mod fetch;
pub mod parse;

pub use fetch::{
    FetchError, FetchPolicy, FetchedMetadata, MAX_REDIRECTS, MetadataFetcher, host_allowed,
    read_ca_file,
};
pub use parse::{BINDING_POST, BINDING_REDIRECT, DS_NS, MD_NS, MetadataError, parse_metadata};

#[cfg(test)]
mod tests;
