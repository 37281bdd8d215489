//! Attribute mapping: spec → the flat map Stytch stores, with Stytch's mapping rules checked.

use std::collections::BTreeMap;

use super::desired::Problem;
use super::reasons::Reason;
use crate::api::SamlConnectionSpec;

/// Keys the operator names explicitly in `spec.attributeMapping`.
pub const NAMED_KEYS: &[&str] = &[
    "email",
    "full_name",
    "first_name",
    "last_name",
    "groups",
    "idp_user_id",
];

/// Builds the Stytch `attribute_mapping` and checks Stytch's rules: `email` required, a name
/// (`full_name` or `first_name` + `last_name`), `groups` when group roles are assigned.
pub fn resolve(
    spec: &SamlConnectionSpec,
    problems: &mut Vec<Problem>,
) -> Option<BTreeMap<String, String>> {
    let wants_groups = spec
        .group_role_assignments
        .as_ref()
        .is_some_and(|g| !g.is_empty());
    let Some(mapping) = &spec.attribute_mapping else {
        if wants_groups {
            problems.push(missing_groups());
        }
        return None;
    };
    let mut out = BTreeMap::new();
    let mut put = |key: &str, value: &Option<String>| {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            out.insert(key.to_owned(), v.to_owned());
        }
    };
    put("email", &Some(mapping.email.clone()));
    put("full_name", &mapping.full_name);
    put("first_name", &mapping.first_name);
    put("last_name", &mapping.last_name);
    put("groups", &mapping.groups);
    put("idp_user_id", &mapping.idp_user_id);
    for (key, value) in mapping.additional.iter().flatten() {
        if NAMED_KEYS.contains(&key.as_str()) {
            problems.push(Problem::new(
                Reason::NestedAttributeMappingKeys,
                format!("spec.attributeMapping.additional.{key}"),
                "repeats a key that has its own field",
            ));
        } else if key.contains('.') || key.trim().is_empty() {
            problems.push(Problem::new(
                Reason::NestedAttributeMappingKeys,
                format!("spec.attributeMapping.additional.{key}"),
                "keys must be flat, non-empty names",
            ));
        } else {
            out.insert(key.clone(), value.clone());
        }
    }
    if !out.contains_key("email") {
        problems.push(Problem::new(
            Reason::EmailMappingRequired,
            "spec.attributeMapping.email",
            "an email mapping is required",
        ));
    }
    let has_name = out.contains_key("full_name")
        || (out.contains_key("first_name") && out.contains_key("last_name"));
    if !has_name {
        problems.push(Problem::new(
            Reason::NameMappingRequired,
            "spec.attributeMapping",
            "map fullName, or both firstName and lastName",
        ));
    }
    if wants_groups && !out.contains_key("groups") {
        problems.push(missing_groups());
    }
    Some(out)
}

fn missing_groups() -> Problem {
    Problem::new(
        Reason::AttributeMappingMissingGroupsKey,
        "spec.attributeMapping.groups",
        "groupRoleAssignments need a groups mapping",
    )
}
