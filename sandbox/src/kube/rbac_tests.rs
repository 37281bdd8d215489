//! Table-driven tests of the RBAC authorizer over rule data.

use serde_json::{Value, json};

use super::*;
use crate::kube::store::Store;

fn rule(v: Value) -> PolicyRule {
    match serde_json::from_value(v) {
        Ok(r) => r,
        Err(e) => panic!("bad rule: {e}"),
    }
}

fn req(verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> RequestInfo {
    RequestInfo::resource(verb, group, resource, ns, name)
}

const SSO: &str = "sso.stytch-operator.dev";

#[test]
fn rule_matching_table() {
    let conns = json!({"apiGroups": [SSO], "resources": ["samlconnections"], "verbs": ["get", "list", "watch", "patch"]});
    let status = json!({"apiGroups": [SSO], "resources": ["samlconnections/status"], "verbs": ["get", "patch"]});
    let named = json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["op"], "verbs": ["get", "update", "patch", "list", "create"]});
    let wild = json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]});
    let any_status = json!({"apiGroups": [""], "resources": ["*/status"], "verbs": ["update"]});
    let core = json!({"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get"]});
    let urls = json!({"nonResourceURLs": ["/metrics", "/logs/*"], "verbs": ["get"]});
    let cases: Vec<(&str, &Value, RequestInfo, bool)> = vec![
        (
            "listed verb",
            &conns,
            req("list", SSO, "samlconnections", "", ""),
            true,
        ),
        (
            "watch in a namespace",
            &conns,
            req("watch", SSO, "samlconnections", "a", ""),
            true,
        ),
        (
            "unlisted verb",
            &conns,
            req("update", SSO, "samlconnections", "a", "x"),
            false,
        ),
        (
            "delete not granted",
            &conns,
            req("delete", SSO, "samlconnections", "a", "x"),
            false,
        ),
        (
            "other group",
            &conns,
            req("get", "other.dev", "samlconnections", "a", "x"),
            false,
        ),
        (
            "core group is not any group",
            &core,
            req("get", "apps", "secrets", "a", "s"),
            false,
        ),
        (
            "resource rule does not cover status",
            &conns,
            req("patch", SSO, "samlconnections/status", "a", "x"),
            false,
        ),
        (
            "status rule",
            &status,
            req("patch", SSO, "samlconnections/status", "a", "x"),
            true,
        ),
        (
            "status rule does not cover the resource",
            &status,
            req("patch", SSO, "samlconnections", "a", "x"),
            false,
        ),
        (
            "named get",
            &named,
            req("get", "coordination.k8s.io", "leases", "d", "op"),
            true,
        ),
        (
            "other name",
            &named,
            req("get", "coordination.k8s.io", "leases", "d", "other"),
            false,
        ),
        (
            "named rule never allows list",
            &named,
            req("list", "coordination.k8s.io", "leases", "d", ""),
            false,
        ),
        (
            "named rule never allows create",
            &named,
            req("create", "coordination.k8s.io", "leases", "d", ""),
            false,
        ),
        (
            "wildcards",
            &wild,
            req("deletecollection", "apps", "deployments", "x", ""),
            true,
        ),
        (
            "wildcards cover subresources",
            &wild,
            req("update", "", "namespaces/finalize", "x", "x"),
            true,
        ),
        (
            "*/status",
            &any_status,
            req("update", "", "pods/status", "a", "p"),
            true,
        ),
        (
            "*/status is not the resource",
            &any_status,
            req("update", "", "pods", "a", "p"),
            false,
        ),
        (
            "second resource of a rule",
            &core,
            req("get", "", "configmaps", "a", "c"),
            true,
        ),
        (
            "resource rule does not cover URLs",
            &wild,
            RequestInfo::non_resource("get", "/metrics"),
            false,
        ),
        (
            "exact URL",
            &urls,
            RequestInfo::non_resource("get", "/metrics"),
            true,
        ),
        (
            "URL prefix",
            &urls,
            RequestInfo::non_resource("get", "/logs/a/b"),
            true,
        ),
        (
            "URL verb",
            &urls,
            RequestInfo::non_resource("post", "/metrics"),
            false,
        ),
        (
            "URL rule does not cover resources",
            &urls,
            req("get", "", "secrets", "a", "s"),
            false,
        ),
    ];
    for (what, r, request, want) in cases {
        assert_eq!(rule_allows(&rule(r.clone()), &request), want, "{what}");
    }
}

fn put(state: &mut State, plural: &str, ns: &str, obj: Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    state
        .objects
        .entry(format!("{plural}.{GROUP}"))
        .or_default()
        .insert((ns.to_string(), name), obj);
}

fn sa(ns: &str, name: &str) -> Value {
    json!({"kind": "ServiceAccount", "name": name, "namespace": ns})
}

#[test]
fn bindings_scope_the_rules() {
    let store = Store::new();
    let mut state = store.lock();
    let secrets_get = json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]);
    let conns_list =
        json!([{"apiGroups": [SSO], "resources": ["samlconnections"], "verbs": ["list"]}]);
    let leases = json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]}]);
    put(
        &mut state,
        "clusterroles",
        "",
        json!({"metadata": {"name": "read-secrets"}, "rules": secrets_get}),
    );
    put(
        &mut state,
        "clusterroles",
        "",
        json!({"metadata": {"name": "list-conns"}, "rules": conns_list}),
    );
    put(
        &mut state,
        "roles",
        "ops",
        json!({"metadata": {"name": "lease"}, "rules": leases}),
    );
    put(
        &mut state,
        "roles",
        "team-b",
        json!({"metadata": {"name": "lease"}, "rules": leases}),
    );
    // ClusterRole through a RoleBinding: team-a only.
    put(
        &mut state,
        "rolebindings",
        "team-a",
        json!({"metadata": {"name": "rb"},
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "read-secrets"}, "subjects": [sa("ops", "op")]}),
    );
    // ClusterRole through a ClusterRoleBinding, bound by group.
    put(
        &mut state,
        "clusterrolebindings",
        "",
        json!({"metadata": {"name": "crb"},
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "list-conns"},
        "subjects": [{"kind": "Group", "name": "system:serviceaccounts:ops"}]}),
    );
    // Role in ops, subject namespace defaulting to the binding's.
    put(
        &mut state,
        "rolebindings",
        "ops",
        json!({"metadata": {"name": "lease"},
        "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "lease"}, "subjects": [{"kind": "ServiceAccount", "name": "op"}]}),
    );
    // A binding in team-b for another service account.
    put(
        &mut state,
        "rolebindings",
        "team-b",
        json!({"metadata": {"name": "lease"},
        "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "lease"}, "subjects": [sa("ops", "other")]}),
    );
    let op = User::service_account("ops", "op");
    let other_ns = User::service_account("elsewhere", "op");
    let cases: Vec<(&str, &User, RequestInfo, bool)> = vec![
        (
            "ClusterRole via RoleBinding in its namespace",
            &op,
            req("get", "", "secrets", "team-a", "s"),
            true,
        ),
        (
            "ClusterRole via RoleBinding elsewhere",
            &op,
            req("get", "", "secrets", "team-b", "s"),
            false,
        ),
        (
            "ClusterRole via RoleBinding not cluster-wide",
            &op,
            req("get", "", "secrets", "", "s"),
            false,
        ),
        (
            "group binding cluster-wide",
            &op,
            req("list", SSO, "samlconnections", "", ""),
            true,
        ),
        (
            "group binding in a namespace",
            &op,
            req("list", SSO, "samlconnections", "team-b", ""),
            true,
        ),
        (
            "group of another namespace",
            &other_ns,
            req("list", SSO, "samlconnections", "", ""),
            false,
        ),
        (
            "Role in its namespace",
            &op,
            req("create", "coordination.k8s.io", "leases", "ops", ""),
            true,
        ),
        (
            "binding for another subject",
            &op,
            req("create", "coordination.k8s.io", "leases", "team-b", ""),
            false,
        ),
        (
            "same SA name in another namespace",
            &other_ns,
            req("get", "", "secrets", "team-a", "s"),
            false,
        ),
    ];
    for (what, user, request, want) in cases {
        assert_eq!(authorize(&state, user, &request).is_ok(), want, "{what}");
    }
}

#[test]
fn discovery_is_open_and_messages_match_the_api_server() {
    let store = Store::new();
    let state = store.lock();
    let user = User::service_account("ns", "sa");
    for path in [
        "/api",
        "/apis",
        "/api/v1",
        "/apis/apps/v1",
        "/version",
        "/openapi/v3/apis/apps/v1",
    ] {
        assert!(
            authorize(&state, &user, &RequestInfo::non_resource("get", path)).is_ok(),
            "{path}"
        );
    }
    let err = authorize(&state, &user, &RequestInfo::non_resource("get", "/metrics"));
    assert!(matches!(err, Err(ApiError::Forbidden(_))));
    let list = authorize(&state, &user, &req("list", SSO, "samlconnections", "", ""));
    let Err(list) = list else { panic!("allowed") };
    assert_eq!(
        list.to_string(),
        "samlconnections.sso.stytch-operator.dev is forbidden: User \"system:serviceaccount:ns:sa\" cannot list resource \"samlconnections\" in API group \"sso.stytch-operator.dev\" at the cluster scope"
    );
    assert_eq!(list.code(), 403);
    assert_eq!(list.reason(), "Forbidden");
    let get = authorize(&state, &user, &req("get", "", "secrets", "team-b", "creds"));
    let Err(get) = get else { panic!("allowed") };
    assert_eq!(
        get.to_string(),
        "secrets \"creds\" is forbidden: User \"system:serviceaccount:ns:sa\" cannot get resource \"secrets\" in API group \"\" in the namespace \"team-b\""
    );
}
