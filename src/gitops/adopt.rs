//! Live connection → `SamlConnection` spec, for `import`: every field Stytch returns that the
//! spec can express so that `diff` finds nothing to change. Private keys are never read.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;

use super::import::ImportOptions;
use crate::api::{
    AttributeMapping, CertificateSource, GroupRoleAssignment, IdentityProvider, IdpSpec,
    LocalObjectReference, ManagementPolicy, RoleAssignment, SamlConnectionSpec,
};
use crate::reconcile::certs::parse_certificate_any_time;
use crate::reconcile::mapping::NAMED_KEYS;
use crate::reconcile::normalize;
use crate::stytch::model::SamlConnection as LiveConnection;

/// The spec adopting `live`; what cannot be expressed is left out and explained in `notes`.
pub fn spec_of(
    live: &LiveConnection,
    o: &ImportOptions,
    now: Timestamp,
    notes: &mut Vec<String>,
) -> SamlConnectionSpec {
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    let identity_provider = identity_provider(&live.identity_provider);
    if identity_provider.is_none() && !live.identity_provider.is_empty() {
        notes.push(format!(
            "identityProvider {:?} is not a known kind; left unmanaged",
            live.identity_provider
        ));
    }
    let attribute_mapping = mapping(live.attribute_mapping.as_ref(), notes);
    let has_groups = attribute_mapping
        .as_ref()
        .is_some_and(|m| m.groups.is_some());
    let group_roles = &live.saml_group_implicit_role_assignments;
    let group_role_assignments = if group_roles.is_empty() {
        None
    } else if !has_groups {
        notes.push("groupRoleAssignments: they need attributeMapping.groups".into());
        None
    } else {
        Some(
            group_roles
                .iter()
                .map(|g| GroupRoleAssignment {
                    group: g.group.clone(),
                    role_id: g.role_id.clone(),
                })
                .collect(),
        )
    };
    let roles = &live.saml_connection_implicit_role_assignments;
    SamlConnectionSpec {
        credentials_ref: LocalObjectReference {
            name: o.credentials_secret_name.clone(),
        },
        organization_id: o.organization.clone(),
        connection_id: Some(live.connection_id.clone()),
        display_name: non_empty(&live.display_name),
        identity_provider,
        idp: idp(live, now, notes),
        attribute_mapping,
        name_id_format: Some(live.nameid_format.clone())
            .filter(|f| normalize::nameid_format(f) != normalize::DEFAULT_NAMEID_FORMAT),
        alternative_audience_uri: non_empty(&live.alternative_audience_uri),
        alternative_acs_url: non_empty(&live.alternative_acs_url),
        idp_initiated_auth_disabled: Some(live.idp_initiated_auth_disabled),
        role_assignments: (!roles.is_empty()).then(|| {
            roles
                .iter()
                .map(|r| RoleAssignment {
                    role_id: r.role_id.clone(),
                })
                .collect()
        }),
        group_role_assignments,
        signing_private_key_ref: None,
        encryption_private_key_ref: None,
        deletion_policy: o.deletion_policy,
        management_policy: if o.observe_only {
            ManagementPolicy::ObserveOnly
        } else {
            ManagementPolicy::Full
        },
        suspend: false,
    }
}

pub fn idp(live: &LiveConnection, now: Timestamp, notes: &mut Vec<String>) -> Option<IdpSpec> {
    let mut seen = BTreeSet::new();
    let mut certificates = Vec::new();
    for c in &live.verification_certificates {
        match parse_certificate_any_time(&c.certificate) {
            Err(e) => notes.push(format!("certificate {}: {e}", c.certificate_id)),
            Ok(p) if p.not_after <= now => notes.push(format!(
                "certificate {} expired on {}; a diff will show its removal",
                c.certificate_id,
                p.not_after.strftime("%Y-%m-%d")
            )),
            Ok(p) => {
                if seen.insert(p.sha256.clone()) {
                    certificates.push(CertificateSource {
                        pem: Some(p.pem),
                        ..Default::default()
                    });
                }
            }
        }
    }
    let spec = IdpSpec {
        metadata_url: None,
        entity_id: Some(live.idp_entity_id.clone()).filter(|s| !s.is_empty()),
        sso_url: Some(live.idp_sso_url.clone()).filter(|s| !s.is_empty()),
        certificates: (!certificates.is_empty()).then_some(certificates),
    };
    (spec != IdpSpec::default()).then_some(spec)
}

pub fn mapping(
    live: Option<&BTreeMap<String, Value>>,
    notes: &mut Vec<String>,
) -> Option<AttributeMapping> {
    let live = live.filter(|m| !m.is_empty())?;
    let mut flat = BTreeMap::new();
    for (k, v) in live {
        match v.as_str() {
            Some(s) if !s.trim().is_empty() && s.trim() == s && !k.contains('.') => {
                flat.insert(k.clone(), s.to_owned());
            }
            _ => {
                notes.push(format!(
                    "attributeMapping: key {k:?} is not a flat, non-empty string; mapping left unmanaged"
                ));
                return None;
            }
        }
    }
    let mut take = |k: &str| flat.remove(k);
    let mapping = AttributeMapping {
        email: take("email").unwrap_or_default(),
        full_name: take("full_name"),
        first_name: take("first_name"),
        last_name: take("last_name"),
        groups: take("groups"),
        idp_user_id: take("idp_user_id"),
        additional: None,
    };
    let named_ok = !mapping.email.is_empty()
        && (mapping.full_name.is_some()
            || (mapping.first_name.is_some() && mapping.last_name.is_some()));
    if !named_ok {
        notes.push(
            "attributeMapping: it lacks email, or fullName / firstName+lastName; mapping left unmanaged"
                .into(),
        );
        return None;
    }
    debug_assert!(flat.keys().all(|k| !NAMED_KEYS.contains(&k.as_str())));
    Some(AttributeMapping {
        additional: (!flat.is_empty()).then_some(flat),
        ..mapping
    })
}

/// The spec's kind for a live `identity_provider` string, when it is a known one.
pub fn identity_provider(live: &str) -> Option<IdentityProvider> {
    IdentityProvider::ALL.into_iter().find(|p| {
        normalize::identity_provider(p.as_api_str()) == normalize::identity_provider(live)
    })
}
