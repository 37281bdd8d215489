//! Field validation rules of create/update, each mapped to Stytch's error type (reference §4.2).

use serde_json::{Map, Value};

use super::error::ApiError;
use super::model::{GroupRoleAssignment, IDENTITY_PROVIDERS, RoleAssignment};

/// `identity_provider` must be one of the 15 values of §3.4 (`invalid_sso_idp`).
pub fn identity_provider(value: &str) -> Result<(), ApiError> {
    if IDENTITY_PROVIDERS.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_sso_idp",
            format!(
                "identity_provider {value:?} is not one of: {}",
                IDENTITY_PROVIDERS.join(", ")
            ),
        ))
    }
}

/// Validates a non-empty `attribute_mapping`: a flat object (no nested objects or arrays) with
/// `email` and either `full_name` or both `first_name` and `last_name`.
pub fn attribute_mapping(value: &Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "invalid_request_value",
            "attribute_mapping must be a JSON object",
        ));
    };
    if let Some((key, _)) = map
        .iter()
        .find(|(_, v)| matches!(v, Value::Object(_) | Value::Array(_)))
    {
        return Err(ApiError::bad_request(
            "saml_connection_no_nested_keys_in_attribute_mapping",
            format!("attribute_mapping values must be flat strings, {key:?} is nested"),
        ));
    }
    let has = |key: &str| {
        map.get(key)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    };
    if !has("email") {
        return Err(ApiError::bad_request(
            "saml_connection_email_mapping_required",
            "attribute_mapping must contain an email key",
        ));
    }
    let has_name = has("full_name") || (has("first_name") && has("last_name"));
    if !has_name {
        return Err(ApiError::bad_request(
            "saml_connection_name_mapping_required",
            "attribute_mapping must contain full_name, or both first_name and last_name",
        ));
    }
    Ok(map.clone())
}

/// `idp_sso_url` must be an absolute `https://` URL.
pub fn idp_sso_url(value: &str) -> Result<(), ApiError> {
    let url = url::Url::parse(value).map_err(|e| {
        ApiError::bad_request(
            "saml_connection_idp_sso_url_invalid_format",
            format!("idp_sso_url {value:?} is not a valid URL: {e}"),
        )
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(
            "saml_connection_idp_sso_url_invalid_format",
            format!("idp_sso_url {value:?} has no host"),
        ));
    }
    if url.scheme() != "https" {
        return Err(ApiError::bad_request(
            "saml_connection_idp_sso_url_not_https",
            format!("idp_sso_url {value:?} must use https"),
        ));
    }
    Ok(())
}

fn role_id(id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() {
        Err(ApiError::bad_request(
            "invalid_rbac_role_id",
            "role_id must be a non-empty RBAC role id",
        ))
    } else {
        Ok(())
    }
}

/// Every `role_id` must be non-empty (`invalid_rbac_role_id`).
pub fn connection_roles(roles: &[RoleAssignment]) -> Result<(), ApiError> {
    roles.iter().try_for_each(|r| role_id(&r.role_id))
}

/// Every `role_id` must be non-empty (`invalid_rbac_role_id`) and every `group` non-empty
/// (`invalid_rbac_role_assignment`).
pub fn group_roles(roles: &[GroupRoleAssignment]) -> Result<(), ApiError> {
    for r in roles {
        role_id(&r.role_id)?;
        if r.group.trim().is_empty() {
            return Err(ApiError::bad_request(
                "invalid_rbac_role_assignment",
                "group must be a non-empty IdP group name",
            ));
        }
    }
    Ok(())
}

/// Group role assignments need a `groups` key in the (effective) attribute mapping.
pub fn groups_key(
    mapping: &Map<String, Value>,
    groups: &[GroupRoleAssignment],
) -> Result<(), ApiError> {
    if groups.is_empty()
        || mapping
            .get("groups")
            .is_some_and(|v| v.as_str() != Some(""))
    {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "saml_connection_attribute_mapping_missing_groups_key",
            "saml_group_implicit_role_assignments require a groups key in attribute_mapping",
        ))
    }
}
