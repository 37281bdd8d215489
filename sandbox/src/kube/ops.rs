//! Write semantics shared by every verb, executed under the store lock: metadata ownership,
//! resourceVersion preconditions, generation rules, status subresource isolation, finalizers,
//! CRD registration and namespace cascade.

use serde_json::{Value, json};

use super::crd::{self, CRD_KEY};
use super::error::{ApiError, ApiResult, Cause};
use super::meta::{self, meta_mut, meta_str, name_of};
use super::resources::ResourceType;
use super::store::{EventType, State};
use super::validate;

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    /// `dryRun=All`: compute, but do not persist.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: unknown fields are an error instead of being pruned.
    pub strict: bool,
    /// Requested version.
    pub version: String,
    /// The new object comes from server-side apply (its `managedFields` are authoritative).
    pub apply: bool,
}

const OWNED_META: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
    "name",
];

fn not_found(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::NotFound {
        resource: rt.qualified(),
        name: name.to_string(),
    }
}

fn invalid(rt: &ResourceType, name: &str, cause: Cause) -> ApiError {
    ApiError::Invalid {
        kind_group: rt.kind_group(),
        kind: rt.kind.clone(),
        group: rt.group.clone(),
        name: name.to_string(),
        causes: vec![cause],
    }
}

/// Reads one object.
pub fn get(state: &State, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
    state
        .objects(&rt.key())
        .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
        .cloned()
        .ok_or_else(|| not_found(rt, name))
}

fn status_enabled(rt: &ResourceType, version: &str) -> bool {
    rt.version(version)
        .map(|v| v.status)
        .unwrap_or_else(|| rt.has_status())
}

/// Object content that drives `generation`: everything but metadata (and status when it is a subresource).
fn spec_part(obj: &Value, has_status: bool) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if has_status {
            m.remove("status");
        }
    }
    o
}

fn check_body_kind(rt: &ResourceType, obj: &mut Value, version: &str) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON object".into(),
        ));
    }
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && kind != rt.kind
    {
        return Err(ApiError::BadRequest(format!(
            "the kind of the object ({kind}) does not match the kind of the resource ({})",
            rt.kind
        )));
    }
    obj["kind"] = json!(rt.kind);
    obj["apiVersion"] = json!(rt.api_version(version));
    Ok(())
}

/// Creates an object.
pub fn create(
    state: &mut State,
    rt: &ResourceType,
    ns: &str,
    mut obj: Value,
    o: &WriteOpts,
) -> ApiResult<Value> {
    check_body_kind(rt, &mut obj, &o.version)?;
    super::builtin::normalize(rt, &mut obj);
    let key = rt.key();
    if let Some(body_ns) = meta_str(&obj, "namespace").filter(|n| !n.is_empty())
        && rt.namespaced
        && body_ns != ns
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    let mut name = name_of(&obj).to_string();
    if name.is_empty() {
        let Some(prefix) = meta_str(&obj, "generateName").map(String::from) else {
            return Err(invalid(
                rt,
                "",
                Cause::new(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ),
            ));
        };
        name = format!("{prefix}{}", meta::random_suffix());
    }
    if let Some(msg) = meta::check_name(&name) {
        return Err(invalid(
            rt,
            &name,
            Cause::new("FieldValueInvalid", "metadata.name", msg),
        ));
    }
    if rt.namespaced && !namespace_exists(state, ns) {
        return Err(ApiError::NotFound {
            resource: "namespaces".into(),
            name: ns.to_string(),
        });
    }
    if rt.namespaced && super::delete::namespace_terminating(state, ns) {
        return Err(ApiError::Forbidden(format!(
            "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            rt.qualified()
        )));
    }
    if state
        .objects(&key)
        .is_some_and(|m| m.contains_key(&(ns.to_string(), name.clone())))
    {
        return Err(ApiError::AlreadyExists {
            resource: rt.qualified(),
            name,
        });
    }
    let has_status = status_enabled(rt, &o.version);
    if has_status
        && rt.kind != "Namespace"
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    {
        let m = meta_mut(&mut obj);
        m.insert("name".into(), json!(name));
        if rt.namespaced {
            m.insert("namespace".into(), json!(ns));
        } else {
            m.remove("namespace");
        }
        m.insert("uid".into(), json!(meta::new_uid()));
        m.insert("creationTimestamp".into(), json!(meta::now()));
        m.insert("generation".into(), json!(1));
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
        m.remove("resourceVersion");
    }
    if rt.custom {
        validate::admit(rt, &o.version, &mut obj, None, o.strict)?;
    }
    let crd_type = if key == CRD_KEY {
        Some(crd::resource_type(&obj)?)
    } else {
        None
    };
    if let Some(t) = &crd_type {
        crd::set_status(&mut obj, t);
    }
    if rt.kind == "Namespace" && rt.group.is_empty() {
        obj["status"] = json!({"phase": "Active"});
    }
    if o.dry_run {
        return Ok(obj);
    }
    let rv = state.next_rv();
    meta::set_rv(&mut obj, rv);
    state.put(&key, ns, &name, obj.clone(), EventType::Added, None);
    if let Some(t) = crd_type {
        crd::register(state, t);
    }
    Ok(obj)
}

fn namespace_exists(state: &State, ns: &str) -> bool {
    state
        .objects("namespaces")
        .is_some_and(|m| m.contains_key(&(String::new(), ns.to_string())))
}

/// Replaces an object (PUT semantics; also the final step of every patch).
pub fn update(
    state: &mut State,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    mut new: Value,
    status: bool,
    o: &WriteOpts,
) -> ApiResult<Value> {
    check_body_kind(rt, &mut new, &o.version)?;
    super::builtin::normalize(rt, &mut new);
    let key = rt.key();
    let old = get(state, rt, ns, name)?;
    if let Some(n) = meta_str(&new, "name").filter(|n| !n.is_empty() && *n != name) {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    let old_rv = meta_str(&old, "resourceVersion").unwrap_or("").to_string();
    if let Some(rv) = meta_str(&new, "resourceVersion").filter(|r| !r.is_empty())
        && rv != old_rv
    {
        return Err(ApiError::Conflict {
            resource: rt.qualified(),
            name: name.to_string(),
        });
    }
    let has_status = status_enabled(rt, &o.version);
    let mut next = if status {
        let mut n = old.clone();
        match new.get("status") {
            Some(s) => n["status"] = s.clone(),
            None => {
                if let Some(m) = n.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if let Some(mf) = new.pointer("/metadata/managedFields").filter(|_| o.apply) {
            meta_mut(&mut n).insert("managedFields".into(), mf.clone());
        }
        n
    } else {
        if has_status {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        let old_meta = old.get("metadata").cloned().unwrap_or(json!({}));
        let m = meta_mut(&mut new);
        for f in OWNED_META {
            match old_meta.get(*f) {
                Some(v) => m.insert((*f).to_string(), v.clone()),
                None => m.remove(*f),
            };
        }
        if !o.apply {
            // Non-apply writes keep the server's managedFields; apply results carry their own.
            match old_meta.get("managedFields") {
                Some(v) => m.insert("managedFields".into(), v.clone()),
                None => m.remove("managedFields"),
            };
        }
        new
    };
    meta::set_rv(&mut next, old_rv.parse().unwrap_or(0));
    if rt.custom {
        validate::admit(rt, &o.version, &mut next, Some(&old), o.strict)?;
    }
    let deleting = old.pointer("/metadata/deletionTimestamp").is_some();
    if deleting {
        let before = meta::finalizers(&old);
        if meta::finalizers(&next).iter().any(|f| !before.contains(f)) {
            return Err(invalid(
                rt,
                name,
                Cause::new(
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted",
                ),
            ));
        }
    }
    if !o.apply {
        super::fieldset::release_changed(&mut next, &old);
    }
    if spec_part(&next, has_status) != spec_part(&old, has_status) {
        let g = meta::generation(&old) + 1;
        meta_mut(&mut next).insert("generation".into(), json!(g));
    }
    let crd_type = if key == CRD_KEY {
        Some(crd::resource_type(&next)?)
    } else {
        None
    };
    if let Some(t) = &crd_type {
        crd::set_status(&mut next, t);
        // Keep the original condition timestamps when nothing changed.
        if next.get("status").map(strip_times) == old.get("status").map(strip_times) {
            next["status"] = old.get("status").cloned().unwrap_or(Value::Null);
        }
    }
    if without_field_times(&next) == without_field_times(&old) {
        // A no-op write (including an apply that only refreshes managedFields times).
        return Ok(old);
    }
    if o.dry_run {
        return Ok(next);
    }
    let rv = state.next_rv();
    meta::set_rv(&mut next, rv);
    if deleting && meta::finalizers(&next).is_empty() {
        super::delete::finish_delete(state, rt, ns, name, next.clone());
        return Ok(next);
    }
    state.put(&key, ns, name, next.clone(), EventType::Modified, Some(old));
    if let Some(t) = crd_type {
        crd::register(state, t);
    }
    Ok(next)
}

fn without_field_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(entries) = v
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    {
        for e in entries {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
    }
    v
}

fn strip_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(conds) = v.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conds {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastTransitionTime");
            }
        }
    }
    v
}
