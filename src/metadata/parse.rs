//! Parsing of SAML 2.0 IdP metadata XML into [`IdpMetadata`]. Pure: no I/O.
//!
//! Document type declarations are refused outright (roxmltree's default), so entity expansion
//! ("billion laughs") and external entities never happen.

use base64::Engine;
use roxmltree::{Document, Node, ParsingOptions};

use crate::reconcile::Reason;
use crate::reconcile::certs::{ParsedCertificate, canonical_pem, parse_certificate_any_time};
use crate::reconcile::desired::IdpMetadata;

/// SAML 2.0 metadata namespace (`md:`).
pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML Signature namespace (`ds:`).
pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The HTTP-Redirect binding, preferred for the SSO URL.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding, used when no HTTP-Redirect service is published.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// Upper bound on XML nodes, far above any real metadata document.
const NODES_LIMIT: u32 = 200_000;
/// Longest excerpt of document content quoted in an error message.
const MAX_QUOTE: usize = 120;

/// Why IdP metadata cannot be used. Messages are short and never quote the whole document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not well-formed XML, not UTF-8, or a DTD is present.
    #[error("the metadata is not usable XML: {0}")]
    Xml(String),
    /// Well-formed XML that is not usable SAML IdP metadata.
    #[error("the metadata is not valid SAML IdP metadata: {0}")]
    InvalidFormat(String),
    /// A signing certificate in the metadata does not parse.
    #[error("signing certificate #{index} in the metadata is invalid: {message}")]
    Certificate {
        /// 1-based position among the signing `X509Certificate` elements.
        index: usize,
        message: String,
    },
}

impl MetadataError {
    /// The condition reason for this error.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Xml(_) => Reason::MetadataXmlInvalid,
            Self::InvalidFormat(_) => Reason::MetadataInvalidFormat,
            Self::Certificate { .. } => Reason::InvalidX509Certificate,
        }
    }
}

/// Parses IdP metadata: entity id, SSO URL (HTTP-Redirect preferred, then HTTP-POST) and the
/// signing certificates (de-duplicated by fingerprint, expired ones included: the caller
/// decides what to do with them).
pub fn parse_metadata(xml: &[u8]) -> Result<IdpMetadata, MetadataError> {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = std::str::from_utf8(xml)
        .map_err(|_| MetadataError::Xml("the document is not UTF-8".into()))?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(xml_error)?;

    let entity = idp_entity(doc.root_element())?;
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid("the EntityDescriptor has no entityID attribute"))?;
    let idp = idp_descriptor(entity)
        .ok_or_else(|| invalid("the EntityDescriptor has no IDPSSODescriptor"))?;
    let sso_url = sso_url(idp)?;
    let certificates = signing_certificates(idp)?;

    Ok(IdpMetadata {
        entity_id: entity_id.to_owned(),
        sso_url,
        certificates,
    })
}

fn xml_error(err: roxmltree::Error) -> MetadataError {
    let message = match err {
        roxmltree::Error::DtdDetected => {
            "a document type declaration (DTD) is present; DTDs and entities are not allowed in \
             SAML metadata"
                .to_owned()
        }
        other => quote(&other.to_string()),
    };
    MetadataError::Xml(message)
}

fn invalid(message: impl Into<String>) -> MetadataError {
    MetadataError::InvalidFormat(message.into())
}

/// Shortens document-controlled text quoted in messages.
fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTE {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX_QUOTE).collect();
        short.push('…');
        short
    }
}

fn is_md(node: &Node, local: &str) -> bool {
    node.is_element() && node.has_tag_name((MD_NS, local))
}

fn md_children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(move |n| is_md(n, local))
}

fn idp_descriptor<'a, 'input>(entity: Node<'a, 'input>) -> Option<Node<'a, 'input>> {
    let supports_saml2 = |n: &Node| {
        n.attribute("protocolSupportEnumeration")
            .is_some_and(|p| p.split_whitespace().any(|p| p == SAML2_PROTOCOL))
    };
    md_children(entity, "IDPSSODescriptor")
        .find(supports_saml2)
        .or_else(|| md_children(entity, "IDPSSODescriptor").next())
}

/// The one `EntityDescriptor` with an `IDPSSODescriptor`.
fn idp_entity<'a, 'input>(root: Node<'a, 'input>) -> Result<Node<'a, 'input>, MetadataError> {
    if is_md(&root, "EntityDescriptor") {
        return Ok(root);
    }
    if !is_md(&root, "EntitiesDescriptor") {
        let name = root.tag_name();
        let namespace = name.namespace().unwrap_or("no namespace");
        return Err(invalid(format!(
            "the root element is `{}` ({}), not an EntityDescriptor or EntitiesDescriptor in \
             namespace {MD_NS}",
            quote(name.name()),
            quote(namespace),
        )));
    }
    let idps: Vec<_> = root
        .descendants()
        .filter(|n| is_md(n, "EntityDescriptor"))
        .filter(|n| idp_descriptor(*n).is_some())
        .collect();
    match idps.as_slice() {
        [] => Err(invalid(
            "the EntitiesDescriptor holds no EntityDescriptor with an IDPSSODescriptor",
        )),
        [one] => Ok(*one),
        many => Err(invalid(format!(
            "the EntitiesDescriptor holds {} EntityDescriptors with an IDPSSODescriptor; \
             exactly one is expected",
            many.len()
        ))),
    }
}

fn sso_url(idp: Node) -> Result<String, MetadataError> {
    let location = |binding: &str| {
        md_children(idp, "SingleSignOnService")
            .filter(|s| s.attribute("Binding").map(str::trim) == Some(binding))
            .filter_map(|s| s.attribute("Location").map(str::trim))
            .find(|l| !l.is_empty())
    };
    location(BINDING_REDIRECT)
        .or_else(|| location(BINDING_POST))
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid("the IDPSSODescriptor has no SingleSignOnService with an HTTP-Redirect or HTTP-POST binding and a Location")
        })
}

fn signing_certificates(idp: Node) -> Result<Vec<ParsedCertificate>, MetadataError> {
    let signing = md_children(idp, "KeyDescriptor").filter(|k| {
        k.attribute("use")
            .is_none_or(|u| u.trim().eq_ignore_ascii_case("signing"))
    });
    let elements = signing.flat_map(|k| {
        k.descendants()
            .filter(|n| n.is_element() && n.has_tag_name((DS_NS, "X509Certificate")))
    });

    let mut certificates: Vec<ParsedCertificate> = Vec::new();
    for (i, element) in elements.enumerate() {
        let index = i + 1;
        let cert_error = |message: String| MetadataError::Certificate { index, message };
        let base64: String = element
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .flat_map(str::chars)
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if base64.is_empty() {
            return Err(cert_error("the X509Certificate element is empty".into()));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64.as_bytes())
            .map_err(|_| cert_error("the X509Certificate content is not valid base64".into()))?;
        let parsed = parse_certificate_any_time(&canonical_pem("CERTIFICATE", &der))
            .map_err(|e| cert_error(quote(&e.to_string())))?;
        if !certificates.iter().any(|c| c.sha256 == parsed.sha256) {
            certificates.push(parsed);
        }
    }
    if certificates.is_empty() {
        return Err(invalid(
            "the IDPSSODescriptor has no signing certificate (KeyDescriptor with use=\"signing\" or no use, holding a ds:X509Certificate)",
        ));
    }
    Ok(certificates)
}
