//! Parser tests on small metadata documents built around `rcgen` certificates.

use base64::Engine;
use rcgen::{CertificateParams, KeyPair};

use super::parse::{BINDING_POST, BINDING_REDIRECT, MetadataError, parse_metadata};
use crate::reconcile::Reason;
use crate::reconcile::certs::sha256_fingerprint;

const SOAP: &str = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP";

/// A fresh self-signed certificate: (base64 DER, DER).
fn cert(name: &str) -> (String, Vec<u8>) {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    (base64::engine::general_purpose::STANDARD.encode(&der), der)
}

/// Base64 wrapped at 64 columns with indentation, the way IdPs publish it.
fn wrapped(b64: &str) -> String {
    b64.as_bytes()
        .chunks(64)
        .map(|c| format!("\n          {}", std::str::from_utf8(c).unwrap()))
        .collect::<String>()
        + "\n        "
}

fn key_descriptor(use_attr: Option<&str>, b64: &str) -> String {
    let use_attr = use_attr
        .map(|u| format!(" use=\"{u}\""))
        .unwrap_or_default();
    format!(
        r#"<md:KeyDescriptor{use_attr}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
        wrapped(b64)
    )
}

fn sso(binding: &str, location: &str) -> String {
    format!(r#"<md:SingleSignOnService Binding="{binding}" Location="{location}"/>"#)
}

/// An Okta-style document: `md:`/`ds:` prefixes, one IDPSSODescriptor.
fn okta(entity_id: &str, inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    {inner}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

fn simple(b64: &str) -> String {
    okta(
        "http://www.okta.com/exk1",
        &format!(
            "{}<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>{}{}",
            key_descriptor(Some("signing"), b64),
            sso(BINDING_POST, "https://acme.okta.com/app/post"),
            sso(BINDING_REDIRECT, "https://acme.okta.com/app/redirect"),
        ),
    )
}

fn err(xml: &str) -> MetadataError {
    parse_metadata(xml.as_bytes()).unwrap_err()
}

#[test]
fn okta_style() {
    let (b64, der) = cert("okta");
    let meta = parse_metadata(simple(&b64).as_bytes()).unwrap();
    assert_eq!(meta.entity_id, "http://www.okta.com/exk1");
    assert_eq!(meta.sso_url, "https://acme.okta.com/app/redirect");
    assert_eq!(meta.certificates.len(), 1);
    assert_eq!(meta.certificates[0].sha256, sha256_fingerprint(&der));
    assert!(
        meta.certificates[0]
            .pem
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );
}

#[test]
fn entra_style_default_namespace_and_several_key_descriptors() {
    let (signing, signing_der) = cert("entra-signing");
    let (encryption, _) = cert("entra-encryption");
    let kd = |use_attr: &str, b64: &str| {
        format!(
            r#"<KeyDescriptor use="{use_attr}"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"#
        )
    };
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><EntityDescriptor ID="_9c1b5d5e-0000" entityID="https://sts.windows.net/tenant-id/" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
<RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">{}</RoleDescriptor>
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{}{}{}{}{}</IDPSSODescriptor></EntityDescriptor>"#,
        kd("signing", &encryption),
        kd("signing", &signing),
        kd("encryption", &encryption),
        sso(
            SOAP,
            "https://login.microsoftonline.com/tenant-id/saml2/soap"
        )
        .replace("md:", ""),
        sso(
            BINDING_REDIRECT,
            "https://login.microsoftonline.com/tenant-id/saml2"
        )
        .replace("md:", ""),
        sso(
            BINDING_POST,
            "https://login.microsoftonline.com/tenant-id/saml2/post"
        )
        .replace("md:", ""),
    );
    let meta = parse_metadata(xml.as_bytes()).unwrap();
    assert_eq!(meta.entity_id, "https://sts.windows.net/tenant-id/");
    assert_eq!(
        meta.sso_url,
        "https://login.microsoftonline.com/tenant-id/saml2"
    );
    // The RoleDescriptor's key and the encryption key are not the IdP's signing keys.
    assert_eq!(meta.certificates.len(), 1);
    assert_eq!(
        meta.certificates[0].sha256,
        sha256_fingerprint(&signing_der)
    );
}

#[test]
fn rollover_publishes_two_certificates_deduplicated() {
    let (old, old_der) = cert("old");
    let (new, new_der) = cert("new");
    let inner = format!(
        "{}{}{}{}",
        key_descriptor(Some("signing"), &old),
        key_descriptor(None, &new),
        key_descriptor(Some("signing"), &old),
        sso(BINDING_REDIRECT, "https://idp.example.com/sso"),
    );
    let meta = parse_metadata(okta("https://idp.example.com", &inner).as_bytes()).unwrap();
    let fingerprints: Vec<_> = meta.certificates.iter().map(|c| c.sha256.clone()).collect();
    assert_eq!(
        fingerprints,
        vec![sha256_fingerprint(&old_der), sha256_fingerprint(&new_der)]
    );
}

#[test]
fn encryption_only_key_descriptor_is_ignored() {
    let (b64, _) = cert("enc");
    let inner = format!(
        "{}{}",
        key_descriptor(Some("encryption"), &b64),
        sso(BINDING_REDIRECT, "https://idp.example.com/sso"),
    );
    let e = err(&okta("https://idp.example.com", &inner));
    assert!(matches!(e, MetadataError::InvalidFormat(ref m) if m.contains("signing certificate")));
    assert_eq!(e.reason(), Reason::MetadataInvalidFormat);
}

#[test]
fn entities_descriptor_picks_the_idp() {
    let (b64, _) = cert("idp");
    let idp = simple(&b64).replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "");
    let xml = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" Name="federation">
  <md:EntityDescriptor entityID="https://sp.example.com"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>
  {idp}
</md:EntitiesDescriptor>"#
    );
    let meta = parse_metadata(xml.as_bytes()).unwrap();
    assert_eq!(meta.entity_id, "http://www.okta.com/exk1");

    let two = xml.replace(
        "</md:EntitiesDescriptor>",
        &format!("{idp}</md:EntitiesDescriptor>"),
    );
    assert!(
        matches!(err(&two), MetadataError::InvalidFormat(m) if m.contains("2 EntityDescriptors"))
    );

    let none = r#"<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="x"/></EntitiesDescriptor>"#;
    assert!(matches!(err(none), MetadataError::InvalidFormat(_)));
}

#[test]
fn post_only_binding() {
    let (b64, _) = cert("post");
    let inner = format!(
        "{}{}{}",
        key_descriptor(Some("signing"), &b64),
        sso(SOAP, "https://idp.example.com/soap"),
        sso(BINDING_POST, "https://idp.example.com/post"),
    );
    let meta = parse_metadata(okta("https://idp.example.com", &inner).as_bytes()).unwrap();
    assert_eq!(meta.sso_url, "https://idp.example.com/post");
}

#[test]
fn missing_pieces_are_format_errors() {
    let (b64, _) = cert("x");
    let kd = key_descriptor(Some("signing"), &b64);
    let redirect = sso(BINDING_REDIRECT, "https://idp.example.com/sso");
    let cases = [
        (
            simple(&b64).replace(r#" entityID="http://www.okta.com/exk1""#, ""),
            "entityID",
        ),
        (
            simple(&b64).replace("http://www.okta.com/exk1", "  "),
            "entityID",
        ),
        (okta("https://idp", &kd), "SingleSignOnService"),
        (
            okta(
                "https://idp",
                &format!("{kd}{}", sso(SOAP, "https://idp/soap")),
            ),
            "SingleSignOnService",
        ),
        (okta("https://idp", &redirect), "signing certificate"),
        (
            simple(&b64).replace("IDPSSODescriptor", "SPSSODescriptor"),
            "IDPSSODescriptor",
        ),
        (
            // The right names in the wrong namespace.
            simple(&b64).replace(super::MD_NS, "urn:example:not-saml"),
            "root element",
        ),
        ("<html><body>login</body></html>".to_owned(), "root element"),
    ];
    for (xml, needle) in cases {
        let e = err(&xml);
        assert!(
            matches!(&e, MetadataError::InvalidFormat(m) if m.contains(needle)),
            "{needle}: {e:?}"
        );
        assert_eq!(e.reason(), Reason::MetadataInvalidFormat);
    }
}

#[test]
fn dtd_with_entity_expansion_is_refused() {
    let lol = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol3;"/>"#;
    let e = err(lol);
    assert!(
        matches!(&e, MetadataError::Xml(m) if m.contains("DTD")),
        "{e:?}"
    );
    assert_eq!(e.reason(), Reason::MetadataXmlInvalid);
    assert!(e.to_string().len() < 200);
}

#[test]
fn external_entity_is_refused() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE md [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"#;
    assert!(matches!(err(xxe), MetadataError::Xml(m) if m.contains("DTD")));
    // Without a DTD, an undeclared entity is simply an error, never a lookup.
    let undeclared = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"#;
    assert!(matches!(err(undeclared), MetadataError::Xml(_)));
}

#[test]
fn not_xml() {
    for input in [
        &b"{\"entityID\": \"json\"}"[..],
        b"",
        b"<md:EntityDescriptor",
        b"\xff\xfe<\x00x\x00/\x00>\x00",
    ] {
        let e = parse_metadata(input).unwrap_err();
        assert!(matches!(e, MetadataError::Xml(_)), "{e:?}");
        assert_eq!(e.reason(), Reason::MetadataXmlInvalid);
    }
}

#[test]
fn byte_order_mark_is_tolerated() {
    let (b64, _) = cert("bom");
    let mut xml = b"\xEF\xBB\xBF".to_vec();
    xml.extend_from_slice(simple(&b64).as_bytes());
    assert!(parse_metadata(&xml).is_ok());
}

#[test]
fn bad_certificates_are_certificate_errors() {
    let (good, _) = cert("good");
    let cases = [
        "!!!not base64***".to_owned(),
        base64::engine::general_purpose::STANDARD.encode(b"not a certificate"),
        String::new(),
    ];
    for bad in cases {
        let inner = format!(
            "{}{}{}",
            key_descriptor(Some("signing"), &good),
            key_descriptor(Some("signing"), &bad),
            sso(BINDING_REDIRECT, "https://idp.example.com/sso"),
        );
        let e = err(&okta("https://idp.example.com", &inner));
        assert!(
            matches!(e, MetadataError::Certificate { index: 2, .. }),
            "{bad}: {e:?}"
        );
        assert_eq!(e.reason(), Reason::InvalidX509Certificate);
        assert!(e.to_string().len() < 300);
    }
}

#[test]
fn expired_certificates_are_returned_too() {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["expired".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2001, 1, 1);
    params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let meta = parse_metadata(simple(&b64).as_bytes()).unwrap();
    assert_eq!(meta.certificates.len(), 1);
    assert!(meta.certificates[0].not_after < jiff::Timestamp::now());
}
