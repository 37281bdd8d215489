//! Certificates and keys: parsing IdP certificates (`x509_certificate`, metadata), parsing
//! PKCS#1 RSA private keys, and generating the signing certificate Stytch derives from
//! `signing_private_key`.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256};
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::{FromDer, X509Certificate as ParsedX509};

use super::error::ApiError;
use super::model::{X509Certificate, now_rfc3339};

/// What the sandbox keeps from a parsed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// DER bytes (used to detect duplicate uploads).
    pub der: Vec<u8>,
    /// Issuer common name, or the whole issuer DN when there is no CN.
    pub issuer: String,
    /// `notBefore`, RFC 3339.
    pub not_before: String,
    /// `notAfter`, RFC 3339.
    pub not_after: String,
}

fn invalid_cert(detail: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        "invalid_x509_certificate",
        format!("x509_certificate must be a PEM encoded X.509 certificate: {detail}"),
    )
}

fn rfc3339_from_unix(seconds: i64) -> Result<String, ApiError> {
    let ts = jiff::Timestamp::from_second(seconds).map_err(invalid_cert)?;
    Ok(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Parses one DER certificate.
pub fn parse_certificate_der(der: &[u8]) -> Result<CertInfo, ApiError> {
    let (_, cert) = ParsedX509::from_der(der).map_err(invalid_cert)?;
    let issuer_name = cert.issuer();
    let issuer = issuer_name
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| issuer_name.to_string());
    let validity = cert.validity();
    Ok(CertInfo {
        der: der.to_vec(),
        issuer,
        not_before: rfc3339_from_unix(validity.not_before.timestamp())?,
        not_after: rfc3339_from_unix(validity.not_after.timestamp())?,
    })
}

/// Parses a PEM `CERTIFICATE`; any failure is `invalid_x509_certificate` (400).
pub fn parse_certificate_pem(pem: &str) -> Result<CertInfo, ApiError> {
    let (_, block) = parse_x509_pem(pem.trim().as_bytes()).map_err(invalid_cert)?;
    if block.label != "CERTIFICATE" {
        return Err(invalid_cert(format!(
            "expected a CERTIFICATE PEM block, got {}",
            block.label
        )));
    }
    parse_certificate_der(&block.contents)
}

/// Wraps DER bytes (e.g. from `<ds:X509Certificate>`) in a PEM `CERTIFICATE` block.
pub fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A new `verification_certificates` entry for a parsed certificate.
pub fn verification_entry(pem: &str, info: &CertInfo) -> X509Certificate {
    X509Certificate {
        certificate_id: format!("saml-verification-key-test-{}", uuid::Uuid::new_v4()),
        certificate: pem.to_owned(),
        issuer: info.issuer.clone(),
        created_at: Some(info.not_before.clone()),
        expires_at: Some(info.not_after.clone()),
        updated_at: Some(now_rfc3339()),
    }
}

/// Error types used when a private key is rejected (signing and encryption keys share them:
/// Stytch's error list has no encryption-specific names).
const KEY_FORMAT_NOT_SUPPORTED: &str = "saml_signing_private_key_format_not_supported";
const KEY_INVALID: &str = "saml_signing_private_key_invalid";

/// Parses a PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`) RSA key. Other PEM labels (PKCS#8
/// `PRIVATE KEY`, `EC PRIVATE KEY`, ...) give `saml_signing_private_key_format_not_supported`;
/// anything unparseable gives `saml_signing_private_key_invalid`. Returns the key and its DER.
pub fn parse_rsa_pkcs1(pem: &str, field: &str) -> Result<(KeyPair, Vec<u8>), ApiError> {
    let invalid = |detail: String| {
        ApiError::bad_request(
            KEY_INVALID,
            format!("{field} could not be parsed as an RSA private key: {detail}"),
        )
    };
    let (_, block) = parse_x509_pem(pem.trim().as_bytes()).map_err(|e| invalid(e.to_string()))?;
    if block.label != "RSA PRIVATE KEY" {
        return Err(ApiError::bad_request(
            KEY_FORMAT_NOT_SUPPORTED,
            format!(
                "{field} must be a PKCS#1 RSA private key (-----BEGIN RSA PRIVATE KEY-----), got {}",
                block.label
            ),
        ));
    }
    let key = KeyPair::from_pem_and_sign_algo(pem.trim(), &PKCS_RSA_SHA256)
        .map_err(|e| invalid(e.to_string()))?;
    Ok((key, block.contents))
}

/// Generates the self-signed certificate (issuer `Stytch`, valid 10 years from today) that
/// Stytch derives from a `signing_private_key`, and returns it as a `signing_certificates` entry.
pub fn signing_certificate(key_pem: &str) -> Result<X509Certificate, ApiError> {
    let (key, _) = parse_rsa_pkcs1(key_pem, "signing_private_key")?;
    let today = jiff::Zoned::now().date();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Stytch");
    params.distinguished_name = dn;
    let (month, day) = (
        u8::try_from(today.month()).unwrap_or(1),
        u8::try_from(today.day()).unwrap_or(1).min(28),
    );
    params.not_before = rcgen::date_time_ymd(i32::from(today.year()), month, day);
    params.not_after = rcgen::date_time_ymd(i32::from(today.year()) + 10, month, day);
    let cert = params.self_signed(&key).map_err(|e| {
        ApiError::bad_request(KEY_INVALID, format!("cannot sign with this key: {e}"))
    })?;
    let info = parse_certificate_der(cert.der())?;
    Ok(X509Certificate {
        certificate_id: format!("saml-signing-key-test-{}", uuid::Uuid::new_v4()),
        certificate: cert.pem(),
        issuer: "Stytch".to_owned(),
        created_at: Some(info.not_before),
        expires_at: Some(info.not_after),
        updated_at: Some(now_rfc3339()),
    })
}
