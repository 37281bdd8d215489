//! Request routing and the REST verbs (get, list, watch, create, update, patch, delete).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::faults::Faults;
use super::ops::{self, WriteOpts};
use super::patch;
use super::resources::ResourceType;
use super::selectors::LabelSelector;
use super::store::{State, Store};
use super::{discovery, openapi, table, verbs, watch};

/// Shared server state.
#[derive(Debug)]
pub struct App {
    /// Object store.
    pub store: Arc<Store>,
    /// Fault controls.
    pub faults: Faults,
    /// Tokens and the audit log.
    pub auth: super::authn::Auth,
    /// Listen address (`host:port`).
    pub addr: String,
}

/// Query parameters (last value wins).
pub type Query = HashMap<String, String>;

/// Parses a query string.
pub fn parse_query(q: Option<&str>) -> Query {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A JSON response.
pub fn json_response(code: StatusCode, v: &Value) -> Response {
    (code, [("content-type", "application/json")], v.to_string()).into_response()
}

/// A resolved resource request.
pub(crate) struct Target {
    pub(crate) rt: ResourceType,
    pub(crate) version: String,
    pub(crate) ns: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) status: bool,
}

fn resolve(state: &State, group: &str, version: &str, rest: &[&str]) -> ApiResult<Target> {
    let core_ns_sub = group.is_empty()
        && rest.len() == 3
        && rest[0] == "namespaces"
        && matches!(rest[2], "status" | "finalize");
    let (ns, rest) = if rest.len() >= 3 && rest[0] == "namespaces" && !core_ns_sub {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let plural = rest.first().copied().ok_or(ApiError::NoRoute)?;
    let rt = state
        .types
        .values()
        .find(|t| t.group == group && t.plural == plural && t.version(version).is_some())
        .cloned()
        .ok_or(ApiError::NoRoute)?;
    let name = rest.get(1).map(|s| s.to_string());
    let status = match rest.get(2).copied() {
        None => false,
        Some("status") if rt.version(version).is_some_and(|v| v.status) => true,
        Some(_) => return Err(ApiError::NoRoute),
    };
    if rest.len() > 3
        || (ns.is_some() && !rt.namespaced)
        || (name.is_some() && rt.namespaced && ns.is_none())
    {
        return Err(ApiError::NoRoute);
    }
    Ok(Target {
        rt,
        version: version.to_string(),
        ns,
        name,
        status,
    })
}

pub(crate) fn out(t: &Target, mut obj: Value) -> Value {
    obj["apiVersion"] = json!(t.rt.api_version(&t.version));
    obj
}

/// `Accept` asks for `PartialObjectMetadata` (kube-rs metadata API / metadata watcher).
pub(crate) fn wants_metadata(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"))
}

/// The `PartialObjectMetadata` form of an object.
pub(crate) fn partial(obj: &Value) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

pub(crate) fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

fn parse_object(headers: &HeaderMap, body: &Bytes) -> ApiResult<Value> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("protobuf") {
        return super::protobuf::decode(body);
    }
    patch::parse_body(body, yaml_body(headers))
}

fn yaml_body(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("yaml"))
}

/// Routes one request.
pub fn route(
    app: &Arc<App>,
    method: &Method,
    path: &str,
    q: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<Response> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    match segs.as_slice() {
        ["version"] => ok(discovery::version()),
        ["healthz"] | ["readyz"] | ["livez"] => Ok((StatusCode::OK, "ok").into_response()),
        ["api"] => ok(discovery::api_versions(&app.addr)),
        ["apis"] => ok(discovery::group_list(&app.store.lock())),
        ["openapi", "v3"] => ok(openapi::index(&app.store.lock())),
        ["openapi", "v3", "api", v] => ok(openapi::document(&app.store.lock(), "", v)),
        ["openapi", "v3", "apis", g, v] => ok(openapi::document(&app.store.lock(), g, v)),
        ["__sandbox", "faults", action] if *method == Method::POST => {
            let body: Value = serde_json::from_slice(body).unwrap_or(json!({}));
            ok(super::faults::admin(&app.faults, action, &body)?)
        }
        ["api", v] => {
            discovery::resource_list(&app.store.lock(), "", v).map_or(Err(ApiError::NoRoute), ok)
        }
        ["apis", g] => discovery::group(&app.store.lock(), g).map_or(Err(ApiError::NoRoute), ok),
        ["apis", g, v] => {
            discovery::resource_list(&app.store.lock(), g, v).map_or(Err(ApiError::NoRoute), ok)
        }
        [
            "api",
            "v1",
            "namespaces",
            ns,
            "serviceaccounts",
            name,
            "token",
        ] if *method == Method::POST => {
            let created = super::authn::token_request(&app.auth, &app.store.lock(), ns, name)?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        ["api", v, rest @ ..] => resource(app, method, "", v, rest, q, headers, body),
        ["apis", g, v, rest @ ..] => resource(app, method, g, v, rest, q, headers, body),
        _ => Err(ApiError::NoRoute),
    }
}

#[allow(clippy::too_many_arguments)]
fn resource(
    app: &Arc<App>,
    method: &Method,
    group: &str,
    version: &str,
    rest: &[&str],
    q: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<Response> {
    let t = resolve(&app.store.lock(), group, version, rest)?;
    let opts = WriteOpts {
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        strict: q.get("fieldValidation").is_some_and(|f| f == "Strict"),
        version: version.to_string(),
        apply: false,
    };
    let ns = t.ns.clone().unwrap_or_default();
    if matches!(*method, Method::POST | Method::PUT) {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json");
        if !ct.contains("json") && !ct.contains("yaml") && !ct.contains("protobuf") {
            return Err(ApiError::UnsupportedMediaType(
                "application/json, application/yaml".into(),
            ));
        }
    }
    let is_watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method.clone(), t.name.clone()) {
        (Method::GET, Some(name)) => {
            let state = app.store.lock();
            let obj = ops::get(&state, &t.rt, &ns, &name)?;
            if wants_table(headers) {
                let inc = q
                    .get("includeObject")
                    .map(String::as_str)
                    .unwrap_or("Metadata");
                return Ok(json_response(
                    StatusCode::OK,
                    &table::render(&t.rt, version, &[out(&t, obj)], state.rv, inc),
                ));
            }
            if wants_metadata(headers) {
                return Ok(json_response(StatusCode::OK, &partial(&obj)));
            }
            Ok(json_response(StatusCode::OK, &out(&t, obj)))
        }
        (Method::GET, None) if is_watch => Ok(watch::serve(
            app.store.clone(),
            &app.faults,
            verbs::watch_spec(&t, q, wants_table(headers), wants_metadata(headers))?,
        )),
        (Method::GET, None) => verbs::list(app, &t, q, headers),
        (Method::POST, None) => {
            let obj = parse_object(headers, body)?;
            let created = ops::create(&mut app.store.lock(), &t.rt, &ns, obj, &opts)?;
            Ok(json_response(StatusCode::CREATED, &out(&t, created)))
        }
        (Method::PUT, Some(name)) => {
            let obj = parse_object(headers, body)?;
            let rv_given =
                super::meta::meta_str(&obj, "resourceVersion").is_some_and(|r| !r.is_empty());
            if t.rt.custom && !rv_given {
                return Err(ApiError::Invalid {
                    kind_group: t.rt.kind_group(),
                    kind: t.rt.kind.clone(),
                    group: t.rt.group.clone(),
                    name,
                    causes: vec![super::error::Cause::new(
                        "FieldValueInvalid",
                        "metadata.resourceVersion",
                        "Invalid value: 0: must be specified for an update",
                    )],
                });
            }
            let updated = ops::update(
                &mut app.store.lock(),
                &t.rt,
                &ns,
                &name,
                obj,
                t.status,
                &opts,
            )?;
            Ok(json_response(StatusCode::OK, &out(&t, updated)))
        }
        (Method::PATCH, Some(name)) => verbs::patch_object(app, &t, &name, q, headers, body, opts),
        (Method::DELETE, Some(name)) => {
            let mut opts = opts;
            let options: Value = serde_json::from_slice(body).unwrap_or(json!({}));
            if options
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "All"))
            {
                opts.dry_run = true;
            }
            let mut state = app.store.lock();
            let current = ops::get(&state, &t.rt, &ns, &name)?;
            for field in ["uid", "resourceVersion"] {
                let want = options
                    .pointer(&format!("/preconditions/{field}"))
                    .and_then(Value::as_str);
                if want.is_some_and(|w| super::meta::meta_str(&current, field) != Some(w)) {
                    return Err(ApiError::Conflict {
                        resource: t.rt.qualified(),
                        name,
                    });
                }
            }
            let deleted = super::delete::delete(&mut state, &t.rt, &ns, &name, &opts)?;
            Ok(json_response(StatusCode::OK, &out(&t, deleted)))
        }
        (Method::DELETE, None) => {
            let labels =
                LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?;
            let mut state = app.store.lock();
            let victims: Vec<(String, String)> = state
                .objects(&t.rt.key())
                .map(|m| {
                    m.iter()
                        .filter(|((n, _), o)| {
                            t.ns.as_ref().is_none_or(|ns| ns == n) && labels.matches(o)
                        })
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default();
            let mut items = Vec::new();
            for (vns, vname) in victims {
                items.push(out(
                    &t,
                    super::delete::delete(&mut state, &t.rt, &vns, &vname, &opts)?,
                ));
            }
            let list = json!({"kind": format!("{}List", t.rt.kind), "apiVersion": t.rt.api_version(version),
                "metadata": {"resourceVersion": state.rv.to_string()}, "items": items});
            Ok(json_response(StatusCode::OK, &list))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
