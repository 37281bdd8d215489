//! The RBAC authorizer: Roles and RoleBindings (one namespace), ClusterRoles and
//! ClusterRoleBindings (cluster-wide; a ClusterRole referenced by a RoleBinding grants in that
//! namespace only), matched like Kubernetes' `rbac` authorizer on API group, resource (and
//! `resource/subresource`, `*/subresource`), verb, resourceNames and non-resource URLs.
//! Discovery and health paths are open to every authenticated user (the default
//! `system:discovery` and `system:public-info-viewer` bindings).

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::requestinfo::RequestInfo;
use super::store::State;

const GROUP: &str = "rbac.authorization.k8s.io";

/// One rule of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// Verbs, `*` for all.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// API groups (`""` core), `*` for all.
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Resources, `resource/subresource`, `*/subresource` or `*`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Object names; empty for all. A named rule never allows list, watch or create of a
    /// collection (those requests carry no name).
    #[serde(default)]
    pub resource_names: Vec<String>,
    /// Non-resource URLs (`/healthz`, `/apis/*`).
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

/// An authenticated user: name and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// e.g. `system:serviceaccount:default:op`.
    pub name: String,
    /// e.g. `system:serviceaccounts`, `system:serviceaccounts:default`, `system:authenticated`.
    pub groups: Vec<String>,
}

impl User {
    /// The identity of a service account.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

/// Whether one rule allows a request (pure function of the rule and the request).
pub fn rule_allows(rule: &PolicyRule, req: &RequestInfo) -> bool {
    if !has(&rule.verbs, &req.verb) {
        return false;
    }
    if !req.resource_request {
        return rule.non_resource_urls.iter().any(|url| {
            url == "*"
                || *url == req.path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| req.path.starts_with(prefix))
        });
    }
    if !has(&rule.api_groups, &req.api_group) {
        return false;
    }
    let combined = req.full_resource();
    let resource_ok = rule.resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!req.subresource.is_empty()
                && r.strip_prefix("*/") == Some(req.subresource.as_str()))
    });
    if !resource_ok {
        return false;
    }
    rule.resource_names.is_empty()
        || (!req.name.is_empty() && has_exact(&rule.resource_names, &req.name))
}

fn has_exact(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == want)
}

/// Whether any rule allows a request.
pub fn rules_allow(rules: &[PolicyRule], req: &RequestInfo) -> bool {
    rules.iter().any(|r| rule_allows(r, req))
}

/// Paths every authenticated user may `get` (the default discovery and public-info roles).
pub fn is_discovery_path(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    matches!(
        segs.as_slice(),
        ["api"]
            | ["api", _]
            | ["apis"]
            | ["apis", _]
            | ["apis", _, _]
            | ["version"]
            | ["healthz"]
            | ["livez"]
            | ["readyz"]
            | ["openapi", ..]
    )
}

fn subject_matches(subject: &Value, binding_ns: &str, user: &User) -> bool {
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match subject.get("kind").and_then(Value::as_str).unwrap_or("") {
        "ServiceAccount" => {
            let ns = subject
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        "User" => user.name == name,
        "Group" => user.groups.iter().any(|g| g == name),
        _ => false,
    }
}

fn rules_of(obj: Option<&Value>) -> Vec<PolicyRule> {
    obj.and_then(|o| o.get("rules"))
        .and_then(|r| serde_json::from_value::<Vec<PolicyRule>>(r.clone()).ok())
        .unwrap_or_default()
}

fn get<'a>(state: &'a State, plural: &str, ns: &str, name: &str) -> Option<&'a Value> {
    state
        .objects(&format!("{plural}.{GROUP}"))?
        .get(&(ns.to_string(), name.to_string()))
}

/// The role a binding refers to: `(kind, name)` of its `roleRef`.
fn role_ref(binding: &Value) -> (&str, &str) {
    let field = |f: &str| {
        binding
            .pointer(&format!("/roleRef/{f}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    (field("kind"), field("name"))
}

fn binds(binding: &Value, ns: &str, user: &User) -> bool {
    binding
        .get("subjects")
        .and_then(Value::as_array)
        .is_some_and(|subjects| subjects.iter().any(|s| subject_matches(s, ns, user)))
}

/// Every rule granted to `user` for requests in `namespace` (`""`: cluster scope or all
/// namespaces, where only ClusterRoleBindings count).
pub fn rules_for(state: &State, user: &User, namespace: &str) -> Vec<PolicyRule> {
    let mut rules = Vec::new();
    if let Some(crbs) = state.objects(&format!("clusterrolebindings.{GROUP}")) {
        for binding in crbs.values().filter(|b| binds(b, "", user)) {
            if let ("ClusterRole", name) = role_ref(binding) {
                rules.extend(rules_of(get(state, "clusterroles", "", name)));
            }
        }
    }
    if namespace.is_empty() {
        return rules;
    }
    if let Some(rbs) = state.objects(&format!("rolebindings.{GROUP}")) {
        for ((_, _), binding) in rbs
            .iter()
            .filter(|((ns, _), b)| ns == namespace && binds(b, namespace, user))
        {
            rules.extend(match role_ref(binding) {
                ("Role", name) => rules_of(get(state, "roles", namespace, name)),
                ("ClusterRole", name) => rules_of(get(state, "clusterroles", "", name)),
                _ => Vec::new(),
            });
        }
    }
    rules
}

/// The API server's message for a denied request.
pub fn forbidden_message(user: &User, req: &RequestInfo) -> String {
    if !req.resource_request {
        return format!(
            "forbidden: User \"{}\" cannot {} path \"{}\"",
            user.name, req.verb, req.path
        );
    }
    let qualified = if req.api_group.is_empty() {
        req.resource.clone()
    } else {
        format!("{}.{}", req.resource, req.api_group)
    };
    let subject = if req.name.is_empty() {
        format!("{qualified} is forbidden")
    } else {
        format!("{qualified} \"{}\" is forbidden", req.name)
    };
    let scope = if req.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", req.namespace)
    };
    format!(
        "{subject}: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
        user.name,
        req.verb,
        req.full_resource(),
        req.api_group
    )
}

/// Authorizes a request of `user` against the RBAC objects in the store.
pub fn authorize(state: &State, user: &User, req: &RequestInfo) -> Result<(), ApiError> {
    let authenticated = user.groups.iter().any(|g| g == "system:authenticated");
    if !req.resource_request && authenticated && req.verb == "get" && is_discovery_path(&req.path) {
        return Ok(());
    }
    if rules_allow(&rules_for(state, user, &req.namespace), req) {
        return Ok(());
    }
    Err(ApiError::Forbidden(forbidden_message(user, req)))
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
