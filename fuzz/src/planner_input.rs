//! Turns fuzz bytes into a planner input: a `SamlConnectionSpec` (as JSON, so serde's rules
//! apply), the Secrets and ConfigMaps it references, optionally fetched IdP metadata, a clock,
//! and a live Stytch connection.
//!
//! Values are picked from small pools so that spec and live values often coincide (in sync) or
//! differ only in ways the normalizer must see through (case, trailing slash, PEM wrapping).

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use stytch_saml_operator::api::IdentityProvider;
use stytch_saml_operator::reconcile::certs::parse_certificate_any_time;
use stytch_saml_operator::reconcile::{IdpMetadata, Sources};
use stytch_saml_operator::secret::SecretString;
use stytch_saml_operator::stytch::model::{
    EncryptionPrivateKey, GroupImplicitRoleAssignment, ImplicitRoleAssignment, SamlConnection,
    X509Certificate,
};

/// Self-signed test certificates (`openssl req -x509 -newkey rsa:1024`, valid until 2126).
pub const POOL: [&str; 6] = [
    include_str!("../pool/cert-1.pem"),
    include_str!("../pool/cert-2.pem"),
    include_str!("../pool/cert-3.pem"),
    include_str!("../pool/cert-4.pem"),
    include_str!("../pool/cert-5.pem"),
    include_str!("../pool/cert-6.pem"),
];
pub const KEY_A: &str = include_str!("../../tests/fixtures/rsa-pkcs1-a.pem");
pub const KEY_B: &str = include_str!("../../tests/fixtures/rsa-pkcs1-b.pem");
const KEY_PKCS8: &str = include_str!("../../tests/fixtures/rsa-pkcs8.pem");
const KEY_EC: &str = include_str!("../../tests/fixtures/ec.pem");
/// The signing certificate Stytch shows once `KEY_A` is the signing key.
pub const SIGNING_CERT_A: &str = include_str!("../../tests/fixtures/signing-cert-a.pem");

const NAMES: &[&str] = &["Acme Okta", "acme okta", "", " Acme ", "Ünïcødé 名前 🚀"];
const URLS: &[&str] = &[
    "https://idp.example.com/sso",
    "https://IDP.example.com/sso/",
    "https://idp.example.com/sso?x=1",
    "http://idp.example.com/sso",
    "https://other.example.org/saml",
    "not a url",
    "",
];
const ENTITY_IDS: &[&str] = &[
    "http://www.okta.com/exk1",
    "https://idp.example.com/e",
    "",
    " e ",
];
const NAMEID: &[&str] = &[
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "",
];
const ROLES: &[&str] = &["stytch_member", "stytch_admin", "viewer", ""];
const GROUPS: &[&str] = &["admins", "Admins", "devs"];
const ATTRS: &[&str] = &["email", "mail", "firstName", "groups", ""];
const KEY_NAMES: &[&str] = &["a", "b", "pkcs8", "ec", "garbage", "missing"];
const CERT_KEYS: &[&str] = &[
    "c1", "c2", "c3", "c4", "c5", "c6", "chain", "garbage", "missing",
];

/// Everything the planner target feeds to `resolve` and `plan`.
pub struct PlannerInput {
    pub spec: Value,
    pub sources: Sources,
    pub metadata: Option<IdpMetadata>,
    pub now: Timestamp,
    pub live: SamlConnection,
}

fn pick<'a>(u: &mut Unstructured, pool: &[&'a str]) -> Result<&'a str> {
    Ok(pool[u.choose_index(pool.len())?])
}

fn maybe(
    u: &mut Unstructured,
    value: impl FnOnce(&mut Unstructured) -> Result<Value>,
) -> Result<Option<Value>> {
    if u.arbitrary()? {
        Ok(Some(value(u)?))
    } else {
        Ok(None)
    }
}

fn list(
    u: &mut Unstructured,
    max: usize,
    mut item: impl FnMut(&mut Unstructured) -> Result<Value>,
) -> Result<Value> {
    let len = u.int_in_range(0..=max)?;
    Ok(Value::Array(
        (0..len).map(|_| item(u)).collect::<Result<_>>()?,
    ))
}

/// A PEM as Stytch may return it: re-wrapped with CRLF and surrounding blanks, or as given.
fn mangle(u: &mut Unstructured, pem: &str) -> Result<String> {
    Ok(match u.int_in_range(0..=2u8)? {
        0 => pem.to_owned(),
        1 => format!("\n  {}  \n", pem.replace('\n', "\r\n")),
        _ => pem.trim().to_owned(),
    })
}

fn identity_provider(u: &mut Unstructured) -> Result<String> {
    let all = IdentityProvider::ALL;
    let i = u.choose_index(all.len() + 1)?;
    Ok(match all.get(i) {
        Some(kind) => serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        None => "unknown-idp".to_owned(),
    })
}

fn certificate_source(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => json!({ "pem": POOL[u.choose_index(POOL.len())?] }),
        1 => json!({ "pem": pick(u, &["not a certificate", KEY_A, ""])? }),
        2 => json!({ "secretKeyRef": { "name": "certs", "key": pick(u, CERT_KEYS)? } }),
        _ => {
            json!({ "configMapKeyRef": { "name": pick(u, &["certs", "absent"])?, "key": pick(u, CERT_KEYS)? } })
        }
    })
}

fn idp_spec(u: &mut Unstructured) -> Result<Value> {
    let mut idp = Map::new();
    if u.arbitrary()? {
        idp.insert("metadataUrl".into(), pick(u, URLS)?.into());
    }
    if let Some(v) = maybe(u, |u| Ok(pick(u, ENTITY_IDS)?.into()))? {
        idp.insert("entityId".into(), v);
    }
    if let Some(v) = maybe(u, |u| Ok(pick(u, URLS)?.into()))? {
        idp.insert("ssoUrl".into(), v);
    }
    if let Some(v) = maybe(u, |u| list(u, 6, certificate_source))? {
        idp.insert("certificates".into(), v);
    }
    Ok(Value::Object(idp))
}

fn attribute_mapping(u: &mut Unstructured) -> Result<Value> {
    let mut m = Map::new();
    m.insert("email".into(), pick(u, ATTRS)?.into());
    for field in ["fullName", "firstName", "lastName", "groups", "idpUserId"] {
        if let Some(v) = maybe(u, |u| Ok(pick(u, ATTRS)?.into()))? {
            m.insert(field.into(), v);
        }
    }
    if let Some(v) = maybe(u, |u| {
        let mut extra = Map::new();
        for _ in 0..u.int_in_range(0..=3u8)? {
            extra.insert(
                pick(u, &["dept", "email", "first_name", ""])?.into(),
                pick(u, ATTRS)?.into(),
            );
        }
        Ok(Value::Object(extra))
    })? {
        m.insert("additional".into(), v);
    }
    Ok(Value::Object(m))
}

/// An optional spec field: its name and how to generate its value.
type Field<'a> = (&'a str, &'a dyn Fn(&mut Unstructured) -> Result<Value>);

fn spec(u: &mut Unstructured) -> Result<Value> {
    let mut s = Map::new();
    s.insert("credentialsRef".into(), json!({ "name": "stytch" }));
    s.insert("organizationId".into(), "acme".into());
    let key_ref =
        |u: &mut Unstructured| Ok(json!({ "name": "saml-keys", "key": pick(u, KEY_NAMES)? }));
    let fields: [Field; 12] = [
        ("displayName", &|u| Ok(pick(u, NAMES)?.into())),
        ("identityProvider", &|u| Ok(identity_provider(u)?.into())),
        ("idp", &idp_spec),
        ("attributeMapping", &attribute_mapping),
        ("nameIdFormat", &|u| Ok(pick(u, NAMEID)?.into())),
        ("alternativeAudienceUri", &|u| Ok(pick(u, URLS)?.into())),
        ("alternativeAcsUrl", &|u| Ok(pick(u, URLS)?.into())),
        ("idpInitiatedAuthDisabled", &|u| {
            Ok(Value::Bool(u.arbitrary()?))
        }),
        ("roleAssignments", &|u| {
            list(u, 3, |u| Ok(json!({ "roleId": pick(u, ROLES)? })))
        }),
        ("groupRoleAssignments", &|u| {
            list(u, 3, |u| {
                Ok(json!({ "group": pick(u, GROUPS)?, "roleId": pick(u, ROLES)? }))
            })
        }),
        ("signingPrivateKeyRef", &key_ref),
        ("encryptionPrivateKeyRef", &key_ref),
    ];
    for (name, value) in fields {
        if let Some(v) = maybe(u, value)? {
            s.insert(name.into(), v);
        }
    }
    Ok(Value::Object(s))
}

fn sources() -> Sources {
    let mut sources = Sources::default();
    let bytes = |s: &str| s.as_bytes().to_vec();
    sources.secrets.insert(
        "stytch".into(),
        BTreeMap::from([
            ("project_id".into(), bytes("project-test-1")),
            ("secret".into(), bytes("secret-test-1")),
        ]),
    );
    sources.secrets.insert(
        "saml-keys".into(),
        BTreeMap::from([
            ("a".into(), bytes(KEY_A)),
            ("b".into(), bytes(KEY_B)),
            ("pkcs8".into(), bytes(KEY_PKCS8)),
            ("ec".into(), bytes(KEY_EC)),
            ("garbage".into(), vec![0xff, 0x00, b'x']),
        ]),
    );
    let mut certs: BTreeMap<String, String> = POOL
        .iter()
        .enumerate()
        .map(|(i, pem)| (format!("c{}", i + 1), (*pem).to_owned()))
        .collect();
    certs.insert("chain".into(), format!("{}{}", POOL[0], POOL[1]));
    certs.insert(
        "garbage".into(),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
    );
    sources.secrets.insert(
        "certs".into(),
        certs.iter().map(|(k, v)| (k.clone(), bytes(v))).collect(),
    );
    sources.config_maps.insert("certs".into(), certs);
    sources
}

fn metadata(u: &mut Unstructured) -> Result<IdpMetadata> {
    let mut certificates = Vec::new();
    for _ in 0..u.int_in_range(1..=3u8)? {
        let parsed = parse_certificate_any_time(POOL[u.choose_index(POOL.len())?])
            .map_err(|_| arbitrary::Error::IncorrectFormat)?;
        if !certificates.iter().any(
            |c: &stytch_saml_operator::reconcile::certs::ParsedCertificate| {
                c.sha256 == parsed.sha256
            },
        ) {
            certificates.push(parsed);
        }
    }
    Ok(IdpMetadata {
        entity_id: pick(u, &ENTITY_IDS[..2])?.to_owned(),
        sso_url: pick(u, &URLS[..3])?.to_owned(),
        certificates,
    })
}

fn x509(id: String, certificate: String) -> X509Certificate {
    X509Certificate {
        certificate_id: id,
        certificate,
        ..Default::default()
    }
}

fn live(u: &mut Unstructured) -> Result<SamlConnection> {
    let mut verification = Vec::new();
    for i in 0..u.int_in_range(0..=6u8)? {
        let pem = match u.int_in_range(0..=7u8)? {
            0 => "garbage certificate text".to_owned(),
            n => mangle(u, POOL[usize::from(n - 1) % POOL.len()])?,
        };
        verification.push(x509(format!("v{i}"), pem));
    }
    let signing = match u.int_in_range(0..=2u8)? {
        0 => vec![],
        1 => vec![x509("s0".into(), SIGNING_CERT_A.into())],
        _ => vec![x509("s0".into(), POOL[0].into())],
    };
    let mut encryption = Vec::new();
    for i in 0..u.int_in_range(0..=3u8)? {
        let pem = pick(u, &[KEY_A, KEY_B, "garbage key"])?;
        encryption.push(EncryptionPrivateKey {
            private_key_id: format!("k{i}"),
            private_key: SecretString::new(pem),
            created_at: None,
        });
    }
    let mapping: Option<BTreeMap<String, Value>> = if u.arbitrary()? {
        let mut m = BTreeMap::new();
        for _ in 0..u.int_in_range(0..=4u8)? {
            let value = if u.arbitrary()? {
                Value::String(pick(u, ATTRS)?.into())
            } else {
                json!({ "nested": 1 })
            };
            m.insert(
                pick(u, &["email", "first_name", "groups", "dept"])?.to_owned(),
                value,
            );
        }
        Some(m)
    } else {
        None
    };
    let mut roles = Vec::new();
    for _ in 0..u.int_in_range(0..=3u8)? {
        roles.push(ImplicitRoleAssignment {
            role_id: pick(u, ROLES)?.into(),
        });
    }
    let mut groups = Vec::new();
    for _ in 0..u.int_in_range(0..=2u8)? {
        groups.push(GroupImplicitRoleAssignment {
            group: pick(u, GROUPS)?.into(),
            role_id: pick(u, ROLES)?.into(),
        });
    }
    Ok(SamlConnection {
        organization_id: "organization-test-1".into(),
        connection_id: "saml-connection-test-1".into(),
        status: pick(u, &["active", "pending"])?.into(),
        idp_entity_id: pick(u, ENTITY_IDS)?.into(),
        display_name: pick(u, NAMES)?.into(),
        idp_sso_url: pick(u, URLS)?.into(),
        signing_certificates: signing,
        verification_certificates: verification,
        encryption_private_keys: encryption,
        saml_connection_implicit_role_assignments: roles,
        saml_group_implicit_role_assignments: groups,
        alternative_audience_uri: pick(u, URLS)?.into(),
        identity_provider: identity_provider(u)?,
        nameid_format: pick(u, NAMEID)?.into(),
        alternative_acs_url: pick(u, URLS)?.into(),
        idp_initiated_auth_disabled: u.arbitrary()?,
        attribute_mapping: mapping,
        ..Default::default()
    })
}

/// Builds a planner input from fuzz bytes.
pub fn planner_input(u: &mut Unstructured) -> Result<PlannerInput> {
    let spec = spec(u)?;
    let metadata = if u.arbitrary()? {
        Some(metadata(u)?)
    } else {
        None
    };
    // 2026-12-03, or 2200 when every certificate has expired.
    let now = if u.arbitrary()? {
        7_258_118_400
    } else {
        1_796_299_200
    };
    Ok(PlannerInput {
        spec,
        sources: sources(),
        metadata,
        now: Timestamp::from_second(now).map_err(|_| arbitrary::Error::IncorrectFormat)?,
        live: live(u)?,
    })
}
