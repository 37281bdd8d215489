//! Deletion: finalizers (`deletionTimestamp` first, removal once they are gone), CRD
//! unregistration and namespace cascade.

use serde_json::json;

use super::crd::{self, CRD_KEY};
use super::error::ApiResult;
use super::meta::{self, meta_mut};
use super::ops::{WriteOpts, get};
use super::resources::ResourceType;
use super::store::{EventType, State};
use serde_json::Value;

/// Deletes an object, or marks it deleting when it has finalizers.
pub fn delete(
    state: &mut State,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    o: &WriteOpts,
) -> ApiResult<Value> {
    let old = get(state, rt, ns, name)?;
    if !meta::finalizers(&old).is_empty() {
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(old);
        }
        let mut next = old.clone();
        let g = meta::generation(&old) + 1;
        let m = meta_mut(&mut next);
        m.insert("deletionTimestamp".into(), json!(meta::now()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        m.insert("generation".into(), json!(g));
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
    if key == "namespaces" {
        let keys: Vec<String> = state.objects.keys().cloned().collect();
        for k in keys {
            let victims: Vec<(String, String)> = state
                .objects(&k)
                .map(|m| m.keys().filter(|(n, _)| n == name).cloned().collect())
                .unwrap_or_default();
            for (vns, vname) in victims {
                if let Some(mut obj) = state
                    .objects
                    .get(&k)
                    .and_then(|m| m.get(&(vns.clone(), vname.clone())))
                    .cloned()
                {
                    let rv = state.next_rv();
                    meta::set_rv(&mut obj, rv);
                    state.remove(&k, &vns, &vname, obj);
                }
            }
        }
    }
}
