//! Request attributes for authorization, parsed from method, path and query like the API
//! server's `RequestInfoFactory`: verb, API group, resource, subresource, namespace, name, or a
//! non-resource path (discovery, `/version`, `/healthz`, `/openapi/...`).

use axum::http::Method;

/// What a request asks to do, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestInfo {
    /// `true` for `/api/v1/...` and `/apis/<group>/<version>/...` requests naming a resource.
    pub resource_request: bool,
    /// get, list, watch, create, update, patch, delete, deletecollection (resource requests);
    /// the lower-case HTTP method for non-resource requests.
    pub verb: String,
    /// API group (`""` for core).
    pub api_group: String,
    /// Resource plural, e.g. `samlconnections`.
    pub resource: String,
    /// Subresource, e.g. `status` (empty when none).
    pub subresource: String,
    /// Namespace (empty for cluster-scoped requests and requests across all namespaces).
    pub namespace: String,
    /// Object name (empty for collections).
    pub name: String,
    /// Request path.
    pub path: String,
}

impl RequestInfo {
    /// A resource request (helper for tests and callers building attributes by hand).
    pub fn resource(verb: &str, group: &str, resource: &str, namespace: &str, name: &str) -> Self {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        Self {
            resource_request: true,
            verb: verb.to_string(),
            api_group: group.to_string(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            path: String::new(),
        }
    }

    /// A non-resource request.
    pub fn non_resource(verb: &str, path: &str) -> Self {
        Self {
            verb: verb.to_string(),
            path: path.to_string(),
            ..Self::default()
        }
    }

    /// `resource` or `resource/subresource`.
    pub fn full_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// Parses a request. `watch` is the `watch` query parameter being true.
pub fn parse(method: &Method, path: &str, watch: bool) -> RequestInfo {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let rest: &[&str] = match parts.as_slice() {
        ["api", _version, rest @ ..] if !rest.is_empty() => rest,
        ["apis", _group, _version, rest @ ..] if !rest.is_empty() => rest,
        _ => return RequestInfo::non_resource(&method.as_str().to_lowercase(), path),
    };
    let api_group = if parts[0] == "apis" { parts[1] } else { "" };
    let mut namespace = "";
    let mut rest = rest;
    if rest[0] == "namespaces" && rest.len() > 1 {
        namespace = rest[1];
        // `/namespaces/{ns}/status` and `/finalize` are subresources of the Namespace itself.
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    let resource = rest[0];
    let name = rest.get(1).copied().unwrap_or("");
    let subresource = rest.get(2).copied().unwrap_or("");
    let verb = match *method {
        Method::GET | Method::HEAD if name.is_empty() && watch => "watch",
        Method::GET | Method::HEAD if name.is_empty() => "list",
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if name.is_empty() => "deletecollection",
        Method::DELETE => "delete",
        _ => "",
    };
    RequestInfo {
        resource_request: true,
        verb: verb.to_string(),
        api_group: api_group.to_string(),
        resource: resource.to_string(),
        subresource: subresource.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        path: path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_api_server() {
        // (method, path, watch, verb, group, resource, namespace, name)
        type Case<'a> = (
            Method,
            &'a str,
            bool,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a str,
        );
        let cases: &[Case] = &[
            (
                Method::GET,
                "/api/v1/namespaces/a/secrets/s",
                false,
                "get",
                "",
                "secrets",
                "a",
                "s",
            ),
            (
                Method::GET,
                "/api/v1/secrets",
                false,
                "list",
                "",
                "secrets",
                "",
                "",
            ),
            (
                Method::GET,
                "/apis/sso.stytch-operator.dev/v1alpha1/samlconnections",
                true,
                "watch",
                "sso.stytch-operator.dev",
                "samlconnections",
                "",
                "",
            ),
            (
                Method::PATCH,
                "/apis/sso.stytch-operator.dev/v1alpha1/namespaces/a/samlconnections/x/status",
                false,
                "patch",
                "sso.stytch-operator.dev",
                "samlconnections/status",
                "a",
                "x",
            ),
            (
                Method::POST,
                "/apis/coordination.k8s.io/v1/namespaces/d/leases",
                false,
                "create",
                "coordination.k8s.io",
                "leases",
                "d",
                "",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/a",
                false,
                "update",
                "",
                "namespaces",
                "a",
                "a",
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/a/finalize",
                false,
                "update",
                "",
                "namespaces/finalize",
                "a",
                "a",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/configmaps",
                false,
                "deletecollection",
                "",
                "configmaps",
                "a",
                "",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/configmaps/c",
                false,
                "delete",
                "",
                "configmaps",
                "a",
                "c",
            ),
            (
                Method::GET,
                "/api/v1/namespaces",
                false,
                "list",
                "",
                "namespaces",
                "",
                "",
            ),
        ];
        for (method, path, watch, verb, group, resource, ns, name) in cases {
            let info = parse(method, path, *watch);
            assert!(info.resource_request, "{path}");
            assert_eq!(
                (
                    info.verb.as_str(),
                    info.api_group.as_str(),
                    info.full_resource(),
                    info.namespace.as_str(),
                    info.name.as_str()
                ),
                (*verb, *group, resource.to_string(), *ns, *name),
                "{method} {path}"
            );
        }
        for path in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/version",
            "/healthz",
            "/openapi/v3",
        ] {
            let info = parse(&Method::GET, path, false);
            assert!(!info.resource_request, "{path}");
            assert_eq!(info.verb, "get");
        }
    }
}
