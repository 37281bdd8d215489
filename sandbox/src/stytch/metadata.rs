//! Update-by-metadata-URL support: fetching the IdP metadata XML and extracting the entity
//! id, the SSO URL (HTTP-Redirect binding preferred, else HTTP-POST) and the signing
//! certificates.
//!
//! Errors: `invalid_saml_metadata_url` (not a URL, wrong scheme, unreachable, non-2xx),
//! `invalid_xml_from_saml_metadata_url` (body is not XML), `saml_connection_metadata_invalid_format`
//! (XML but no `EntityDescriptor`/`IDPSSODescriptor`/`entityID`/SSO service, or a bad certificate).

use std::time::Duration;

use base64::Engine;
use roxmltree::{Document, Node};

use super::certs::{self, CertInfo};
use super::config::Behaviour;
use super::error::ApiError;
use super::validate;

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// What an update-by-URL applies to the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    /// `(PEM, parsed)` signing certificates, in document order.
    pub certificates: Vec<(String, CertInfo)>,
}

fn bad_url(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_saml_metadata_url", message)
}

fn bad_format(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("saml_connection_metadata_invalid_format", message)
}

/// Checks the URL and fetches its body.
pub async fn fetch(metadata_url: &str, behaviour: &Behaviour) -> Result<String, ApiError> {
    let url = url::Url::parse(metadata_url)
        .map_err(|e| bad_url(format!("metadata_url {metadata_url:?} is not a URL: {e}")))?;
    let scheme_ok =
        url.scheme() == "https" || (behaviour.allow_http_metadata && url.scheme() == "http");
    if !scheme_ok {
        return Err(bad_url(format!(
            "metadata_url must use https (http allowed: {})",
            behaviour.allow_http_metadata
        )));
    }
    // Direct connections only: the sandbox fetches loopback test servers, never via a proxy.
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = &behaviour.metadata_trusted_ca_pem {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| bad_url(format!("bad trusted CA: {e}")))?;
        builder = builder.add_root_certificate(ca);
    }
    let client = builder
        .no_proxy()
        .timeout(Duration::from_millis(behaviour.metadata_fetch_timeout_ms))
        .build()
        .map_err(|e| bad_url(format!("cannot build HTTP client: {e}")))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| bad_url(format!("cannot fetch metadata_url: {e}")))?;
    if !response.status().is_success() {
        return Err(bad_url(format!(
            "metadata_url answered HTTP {}",
            response.status().as_u16()
        )));
    }
    response
        .text()
        .await
        .map_err(|e| bad_url(format!("cannot read metadata_url body: {e}")))
}

fn is_md(node: &Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(MD_NS)
}

fn signing_certificates(idp: Node<'_, '_>) -> Result<Vec<(String, CertInfo)>, ApiError> {
    let mut out = Vec::new();
    for key in idp.children().filter(|n| is_md(n, "KeyDescriptor")) {
        if key.attribute("use").is_some_and(|u| u != "signing") {
            continue;
        }
        for cert in key
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "X509Certificate")
        {
            let b64: String = cert
                .text()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| bad_format(format!("X509Certificate is not base64: {e}")))?;
            let info = certs::parse_certificate_der(&der)
                .map_err(|e| bad_format(format!("bad X509Certificate: {}", e.message)))?;
            out.push((certs::der_to_pem(&der), info));
        }
    }
    Ok(out)
}

/// Parses IdP metadata XML (an `EntityDescriptor`, or the first one with an
/// `IDPSSODescriptor` inside an `EntitiesDescriptor`).
pub fn parse(xml: &str) -> Result<IdpMetadata, ApiError> {
    let doc = Document::parse(xml).map_err(|e| {
        ApiError::bad_request(
            "invalid_xml_from_saml_metadata_url",
            format!("metadata_url did not return XML: {e}"),
        )
    })?;
    let (entity, idp) = doc
        .descendants()
        .filter(|n| is_md(n, "EntityDescriptor"))
        .find_map(|e| {
            e.children()
                .find(|n| is_md(n, "IDPSSODescriptor"))
                .map(|idp| (e, idp))
        })
        .ok_or_else(|| bad_format("no SAML 2.0 EntityDescriptor with an IDPSSODescriptor"))?;
    let entity_id = entity
        .attribute("entityID")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad_format("EntityDescriptor has no entityID"))?
        .to_owned();
    let services: Vec<_> = idp
        .children()
        .filter(|n| is_md(n, "SingleSignOnService"))
        .collect();
    let location = |binding: &str| {
        services
            .iter()
            .find(|s| s.attribute("Binding") == Some(binding))
            .and_then(|s| s.attribute("Location"))
    };
    let sso_url = location(REDIRECT)
        .or_else(|| location(POST))
        .ok_or_else(|| bad_format("no HTTP-Redirect or HTTP-POST SingleSignOnService"))?
        .to_owned();
    validate::idp_sso_url(&sso_url)?;
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificates: signing_certificates(idp)?,
    })
}
