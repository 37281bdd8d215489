//! Certificate and private-key parsing (`src/reconcile/certs.rs`) on arbitrary bytes, both as
//! PEM text and as DER wrapped in a PEM block.
//!
//! Invariants: no panic; a certificate that parses re-parses from its canonical PEM to the same
//! certificate; error messages stay short (they end up in
//! conditions and Events).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stytch_saml_operator::reconcile::certs::{
    canonical_pem, parse_certificate, parse_certificate_any_time, parse_private_key,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_text(text);
    }
    // The same bytes as DER: exercises the X.509 and PKCS#1 decoders directly.
    check_text(&canonical_pem("CERTIFICATE", data));
    check_text(&canonical_pem("RSA PRIVATE KEY", data));
});

fn check_text(text: &str) {
    match parse_certificate_any_time(text) {
        Ok(cert) => {
            let again = parse_certificate_any_time(&cert.pem)
                .expect("the canonical PEM of a parsed certificate parses again");
            assert_eq!(
                again, cert,
                "canonical PEM round trip changed the certificate"
            );
            // Expiry is decided by `not_after` alone.
            let after = cert.not_after;
            assert!(
                parse_certificate(text, after).is_err(),
                "expired at not_after"
            );
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
    match parse_private_key(text) {
        Ok(key) => {
            let again = parse_private_key(key.pem.expose())
                .expect("the canonical PEM of a parsed key parses again");
            assert_eq!(again.der_sha256, key.der_sha256);
            assert_eq!(again.modulus, key.modulus);
            assert!(
                key.modulus.first().is_none_or(|b| *b != 0),
                "leading zero kept"
            );
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
}
