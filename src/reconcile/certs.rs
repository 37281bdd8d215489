//! Parsing of PEM certificates and PKCS#1 private keys, and their comparable identities.
//!
//! Pure: no I/O. Errors name what is wrong without echoing key material.

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use x509_parser::pem::Pem;
use x509_parser::public_key::PublicKey;

use crate::secret::SecretString;

/// A parsed X.509 certificate, reduced to what the operator compares and reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCertificate {
    /// Canonical PEM (base64 re-wrapped at 64 columns); what is sent to Stytch.
    pub pem: String,
    /// SHA-256 of the DER, lowercase hex with colons.
    pub sha256: String,
    pub subject: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// RSA modulus without leading zero bytes, when the key is RSA.
    pub rsa_modulus: Option<Vec<u8>>,
}

/// A parsed PKCS#1 RSA private key. The PEM is kept secret.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedPrivateKey {
    pub pem: SecretString,
    /// SHA-256 of the DER, to recognise the same key again (never shown to users).
    pub der_sha256: String,
    /// RSA modulus without leading zero bytes, to match Stytch's signing certificate.
    pub modulus: Vec<u8>,
}

/// Why a certificate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("no PEM certificate block found")]
    NotPem,
    #[error("the PEM block is `{0}`, not `CERTIFICATE`")]
    WrongLabel(String),
    #[error("{0} certificates found where exactly one is expected (a chain is not accepted)")]
    Chain(usize),
    #[error("the certificate does not parse as X.509: {0}")]
    NotX509(String),
    #[error("the certificate `{subject}` expired at {not_after}")]
    Expired {
        subject: String,
        not_after: Timestamp,
    },
}

/// Why a private key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateKeyError {
    #[error(
        "the key is in `{0}` format; only PKCS#1 RSA keys (`-----BEGIN RSA PRIVATE KEY-----`) are supported (convert with `openssl rsa -traditional`)"
    )]
    FormatNotSupported(String),
    #[error("no PEM private key block found")]
    NotPem,
    #[error("the PKCS#1 RSA key does not parse")]
    Invalid,
    #[error("{0} PEM blocks found where exactly one private key is expected")]
    Multiple(usize),
}

/// Lowercase hex SHA-256 with colons, the way `openssl x509 -fingerprint -sha256` prints it.
pub fn sha256_fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn pem_blocks(text: &str) -> Result<Vec<Pem>, String> {
    Pem::iter_from_buffer(text.trim().as_bytes())
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

/// Parses exactly one PEM certificate. `now` decides whether it has expired.
pub fn parse_certificate(
    text: &str,
    now: Timestamp,
) -> Result<ParsedCertificate, CertificateError> {
    let cert = parse_certificate_any_time(text)?;
    if cert.not_after <= now {
        return Err(CertificateError::Expired {
            subject: cert.subject,
            not_after: cert.not_after,
        });
    }
    Ok(cert)
}

/// Parses exactly one PEM certificate, expired or not (live certificates are reported as
/// they are).
pub fn parse_certificate_any_time(text: &str) -> Result<ParsedCertificate, CertificateError> {
    let blocks = pem_blocks(text).map_err(|_| CertificateError::NotPem)?;
    let block = match blocks.as_slice() {
        [] => return Err(CertificateError::NotPem),
        [one] => one,
        many => return Err(CertificateError::Chain(many.len())),
    };
    if block.label != "CERTIFICATE" {
        return Err(CertificateError::WrongLabel(shown_label(&block.label)));
    }
    let x509 = block
        .parse_x509()
        .map_err(|e| CertificateError::NotX509(e.to_string()))?;
    let validity = x509.validity();
    let ts =
        |t: i64| Timestamp::from_second(t).map_err(|e| CertificateError::NotX509(e.to_string()));
    let rsa_modulus = match x509.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(strip_leading_zeros(rsa.modulus).to_vec()),
        _ => None,
    };
    Ok(ParsedCertificate {
        pem: canonical_pem("CERTIFICATE", &block.contents),
        sha256: sha256_fingerprint(&block.contents),
        subject: x509.subject().to_string(),
        not_before: ts(validity.not_before.timestamp())?,
        not_after: ts(validity.not_after.timestamp())?,
        rsa_modulus,
    })
}

/// Parses a PKCS#1 RSA private key; PKCS#8, EC and encrypted keys are refused by format.
pub fn parse_private_key(text: &str) -> Result<ParsedPrivateKey, PrivateKeyError> {
    let blocks = pem_blocks(text).map_err(|_| PrivateKeyError::NotPem)?;
    let block = match blocks.as_slice() {
        [] => return Err(PrivateKeyError::NotPem),
        [one] => one,
        many => return Err(PrivateKeyError::Multiple(many.len())),
    };
    match block.label.as_str() {
        "RSA PRIVATE KEY" => {}
        "PRIVATE KEY" => return Err(PrivateKeyError::FormatNotSupported("PKCS#8".into())),
        "ENCRYPTED PRIVATE KEY" => {
            return Err(PrivateKeyError::FormatNotSupported(
                "encrypted PKCS#8".into(),
            ));
        }
        "EC PRIVATE KEY" => return Err(PrivateKeyError::FormatNotSupported("EC".into())),
        other => return Err(PrivateKeyError::FormatNotSupported(shown_label(other))),
    }
    let key = pkcs1::RsaPrivateKey::try_from(block.contents.as_slice())
        .map_err(|_| PrivateKeyError::Invalid)?;
    Ok(ParsedPrivateKey {
        pem: SecretString::new(canonical_pem("RSA PRIVATE KEY", &block.contents)),
        der_sha256: sha256_fingerprint(&block.contents),
        modulus: strip_leading_zeros(key.modulus.as_bytes()).to_vec(),
    })
}

/// A PEM label as error messages show it: at most 40 characters (the label is the user's text
/// and is bounded only by the Secret's size).
fn shown_label(label: &str) -> String {
    const MAX: usize = 40;
    if label.chars().count() <= MAX {
        label.to_owned()
    } else {
        let mut shown: String = label.chars().take(MAX).collect();
        shown.push('…');
        shown
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// PEM with standard 64-column base64 lines and a trailing newline.
pub fn canonical_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_pem_label_is_shortened_in_errors() {
        let label = "X".repeat(5_000);
        let pem = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
        let cert = parse_certificate_any_time(&pem)
            .expect_err("not a certificate")
            .to_string();
        let key = parse_private_key(&pem).expect_err("not a key").to_string();
        for message in [cert, key] {
            assert!(message.len() < 200, "{} chars", message.len());
            assert!(
                message.contains(&format!("{}…", "X".repeat(40))),
                "{message}"
            );
        }
        let short = parse_certificate_any_time(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .expect_err("not a certificate")
        .to_string();
        assert!(
            short.contains("PUBLIC KEY") && !short.contains('…'),
            "{short}"
        );
    }
}
