//! IdP metadata XML parsing (`src/metadata/parse.rs`) on arbitrary bytes.
//!
//! Invariants: no panic; parsed metadata has a trimmed non-empty entity id and SSO URL and at
//! least one signing certificate, without duplicate fingerprints, each re-parsing from its
//! PEM; error messages stay short (they end up in conditions and Events).
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use stytch_saml_operator::metadata::parse_metadata;
use stytch_saml_operator::reconcile::certs::parse_certificate_any_time;

fuzz_target!(|data: &[u8]| {
    match parse_metadata(data) {
        Ok(meta) => {
            assert!(!meta.entity_id.is_empty());
            assert_eq!(meta.entity_id.trim(), meta.entity_id);
            assert!(!meta.sso_url.is_empty());
            assert_eq!(meta.sso_url.trim(), meta.sso_url);
            assert!(
                !meta.certificates.is_empty(),
                "metadata without a certificate"
            );
            let prints: BTreeSet<&str> = meta
                .certificates
                .iter()
                .map(|c| c.sha256.as_str())
                .collect();
            assert_eq!(
                prints.len(),
                meta.certificates.len(),
                "duplicate certificates"
            );
            for cert in &meta.certificates {
                let again =
                    parse_certificate_any_time(&cert.pem).expect("certificate PEM re-parses");
                assert_eq!(&again, cert);
            }
        }
        Err(err) => {
            let message = err.to_string();
            assert!(
                message.len() < 2_000,
                "unbounded error message: {} bytes",
                message.len()
            );
        }
    }
});
