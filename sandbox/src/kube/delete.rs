//! Deletion: finalizers (`deletionTimestamp` first, removal once they are gone), CRD
//! unregistration and namespace termination.
//!
//! Deleting a namespace marks it `Terminating` (with a `deletionTimestamp`) and deletes
//! everything in it; objects with finalizers stay until their finalizers are removed, and the
//! namespace disappears once it is empty. New objects cannot be created in a terminating
//! namespace (403 Forbidden).

use serde_json::{Value, json};

use super::crd::{self, CRD_KEY};
use super::error::ApiResult;
use super::meta::{self, meta_mut};
use super::ops::{WriteOpts, get};
use super::resources::ResourceType;
use super::store::{EventType, State};

const NAMESPACES: &str = "namespaces";

/// Deletes an object, or marks it deleting when it has finalizers.
pub fn delete(
    state: &mut State,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    o: &WriteOpts,
) -> ApiResult<Value> {
    let old = get(state, rt, ns, name)?;
    let is_namespace = rt.key() == NAMESPACES;
    if !meta::finalizers(&old).is_empty() || (is_namespace && !namespace_empty(state, name)) {
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(old);
        }
        let mut next = old.clone();
        let g = meta::generation(&old) + 1;
        let m = meta_mut(&mut next);
        m.insert("deletionTimestamp".into(), json!(meta::now()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        m.insert("generation".into(), json!(g));
        if is_namespace {
            next["status"] = json!({"phase": "Terminating"});
        }
        if o.dry_run {
            return Ok(next);
        }
        let rv = state.next_rv();
        meta::set_rv(&mut next, rv);
        state.put(
            &rt.key(),
            ns,
            name,
            next.clone(),
            EventType::Modified,
            Some(old),
        );
        if is_namespace {
            empty_namespace(state, name, o);
        }
        return Ok(next);
    }
    if o.dry_run {
        return Ok(old);
    }
    let mut last = old;
    let rv = state.next_rv();
    meta::set_rv(&mut last, rv);
    finish_delete(state, rt, ns, name, last.clone());
    Ok(last)
}

fn namespace_empty(state: &State, ns: &str) -> bool {
    state
        .objects
        .values()
        .all(|m| m.keys().all(|(n, _)| n != ns))
}

/// Whether a namespace is being deleted.
pub fn namespace_terminating(state: &State, ns: &str) -> bool {
    state
        .objects(NAMESPACES)
        .and_then(|m| m.get(&(String::new(), ns.to_string())))
        .is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_some())
}

/// Deletes everything in a namespace (finalizers honoured), then the namespace if empty.
fn empty_namespace(state: &mut State, ns: &str, o: &WriteOpts) {
    let mut victims = Vec::new();
    for (key, objs) in &state.objects {
        for (vns, vname) in objs.keys().filter(|(n, _)| n == ns) {
            victims.push((key.clone(), vns.clone(), vname.clone()));
        }
    }
    for (key, vns, vname) in victims {
        let Some(rt) = state.types.get(&key).cloned() else {
            continue;
        };
        let opts = WriteOpts {
            version: rt
                .versions
                .first()
                .map(|v| v.name.clone())
                .unwrap_or_default(),
            ..o.clone()
        };
        if let Err(e) = delete(state, &rt, &vns, &vname, &opts) {
            tracing::warn!(error = %e, resource = %key, name = %vname, "namespace cleanup failed");
        }
    }
    finish_namespace_if_empty(state, ns);
}

fn finish_namespace_if_empty(state: &mut State, ns: &str) {
    if !namespace_terminating(state, ns) || !namespace_empty(state, ns) {
        return;
    }
    let Some(mut last) = state
        .objects(NAMESPACES)
        .and_then(|m| m.get(&(String::new(), ns.to_string())))
        .cloned()
    else {
        return;
    };
    let rv = state.next_rv();
    meta::set_rv(&mut last, rv);
    state.remove(NAMESPACES, "", ns, last);
    tracing::info!(namespace = %ns, "namespace deleted");
}

/// Removes an object for good and runs the follow-ups (CRD unregistration, namespace end).
pub(crate) fn finish_delete(
    state: &mut State,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    last: Value,
) {
    let key = rt.key();
    state.remove(&key, ns, name, last.clone());
    if key == CRD_KEY {
        crd::unregister(state, &last);
    }
    if !ns.is_empty() {
        finish_namespace_if_empty(state, ns);
    }
}
