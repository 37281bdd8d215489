//! Simplified server-side apply.
//!
//! What it does:
//! - the apply configuration is merged into the live object like a strategic merge patch
//!   (maps recursively; lists of objects keyed by `name`/`type`/port merged item by item,
//!   e.g. `status.conditions` keyed by `type`; other lists replaced atomically);
//! - each field manager's applied field set is recorded in `metadata.managedFields`
//!   (`operation: Apply`, `fieldsType: FieldsV1`, per subresource), in the real `f:`/`k:` format;
//! - fields (and keyed list items) the same manager applied before but omits now are removed;
//! - conflicts are detected against other *Apply* managers only (non-apply writes do not record
//!   `managedFields`): a field another apply manager owns with a different value than the new
//!   configuration is a 409 `Conflict` unless `force=true`, which transfers its ownership.

use serde_json::{Map, Value, json};

use super::error::Cause;
use super::fieldset;
use super::meta;
use super::patch::{list_key, strategic};

const META_TRACKED: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

fn set_of(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, child) in map {
                out.insert(format!("f:{k}"), set_of_field(child));
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

fn set_of_field(v: &Value) -> Value {
    match v {
        Value::Object(_) => set_of(v),
        Value::Array(items) => {
            let refs: Vec<&Value> = items.iter().collect();
            match list_key(&refs) {
                Some(key) if items.iter().all(Value::is_object) => {
                    let mut out = Map::new();
                    for item in items {
                        let id = json!({ key: item.get(key).cloned().unwrap_or(Value::Null) });
                        let mut sub = set_of(item);
                        if let Value::Object(m) = &mut sub {
                            m.insert(".".into(), json!({}));
                        }
                        out.insert(format!("k:{id}"), sub);
                    }
                    Value::Object(out)
                }
                _ => json!({}),
            }
        }
        _ => json!({}),
    }
}

/// The `fieldsV1` set of an apply configuration for the main resource or the status subresource.
pub fn field_set(config: &Value, status_only: bool, has_status: bool) -> Value {
    let mut out = Map::new();
    let Value::Object(map) = config else {
        return json!({});
    };
    for (k, v) in map {
        let keep = match k.as_str() {
            "apiVersion" | "kind" => false,
            "status" => status_only || !has_status,
            "metadata" => !status_only,
            _ => !status_only,
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            let mut m = Map::new();
            for t in META_TRACKED {
                if let Some(x) = v.get(*t) {
                    m.insert(format!("f:{t}"), set_of_field(x));
                }
            }
            if !m.is_empty() {
                out.insert("f:metadata".into(), Value::Object(m));
            }
        } else {
            out.insert(format!("f:{k}"), set_of_field(v));
        }
    }
    Value::Object(out)
}

/// Removes from `obj` what `prev` covers and `new` does not.
fn remove_missing(obj: &mut Value, prev: &Value, new: &Value) {
    let Value::Object(prev_map) = prev else {
        return;
    };
    for (fk, sub_prev) in prev_map {
        let sub_new = new.get(fk);
        if let Some(name) = fk.strip_prefix("f:") {
            let Value::Object(o) = obj else { continue };
            match sub_new {
                None => {
                    o.remove(name);
                }
                Some(sub_new) => {
                    if let Some(child) = o.get_mut(name) {
                        remove_missing(child, sub_prev, sub_new);
                    }
                }
            }
        } else if let Some(id) = fk.strip_prefix("k:") {
            let Ok(Value::Object(id)) = serde_json::from_str::<Value>(id) else {
                continue;
            };
            let Value::Array(items) = obj else { continue };
            let matches = |item: &Value| id.iter().all(|(k, v)| item.get(k) == Some(v));
            match sub_new {
                None => items.retain(|i| !matches(i)),
                Some(sub_new) => {
                    for item in items.iter_mut().filter(|i| matches(i)) {
                        remove_missing(item, sub_prev, sub_new);
                    }
                }
            }
        }
    }
}

/// Applies `config` as `manager`; returns the new object (not yet validated or stored).
pub fn apply(
    current: Option<&Value>,
    config: &Value,
    manager: &str,
    status_only: bool,
    has_status: bool,
    force: bool,
) -> Result<Value, Vec<Cause>> {
    let subresource = if status_only { "status" } else { "" };
    let is_mine = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == subresource
    };
    let entries: Vec<Value> = current
        .and_then(|c| c.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let prev = entries
        .iter()
        .find(|e| is_mine(e))
        .and_then(|e| e.get("fieldsV1").cloned());
    let new_set = field_set(config, status_only, has_status);
    let (entries, conflicts) = contest(
        entries,
        &new_set,
        current,
        config,
        force,
        &is_mine,
        subresource,
    );
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let mut cfg = config.clone();
    if let Some(m) = cfg.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let mut result = current.cloned().unwrap_or_else(|| json!({}));
    strategic(&mut result, &cfg);
    if let Some(prev) = prev {
        remove_missing(&mut result, &prev, &new_set);
    }

    let api_version = config.get("apiVersion").cloned().unwrap_or(Value::Null);
    let mut entry = json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": meta::now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": new_set,
    });
    if status_only {
        entry["subresource"] = json!("status");
    }
    let mut kept: Vec<Value> = entries.into_iter().filter(|e| !is_mine(e)).collect();
    kept.push(entry);
    meta::meta_mut(&mut result).insert("managedFields".into(), Value::Array(kept));
    Ok(result)
}

/// Finds fields of `new_set` owned by other apply managers (same subresource) whose live value
/// differs from the configuration. With `force`, ownership moves to the applier; otherwise the
/// conflicts are returned as causes.
fn contest(
    mut entries: Vec<Value>,
    new_set: &Value,
    current: Option<&Value>,
    config: &Value,
    force: bool,
    is_mine: &dyn Fn(&Value) -> bool,
    subresource: &str,
) -> (Vec<Value>, Vec<Cause>) {
    let mut conflicts = Vec::new();
    let Some(current) = current else {
        return (entries, conflicts);
    };
    let wanted = fieldset::leaves(new_set);
    for entry in entries.iter_mut() {
        let other_apply = entry.get("operation").and_then(Value::as_str) == Some("Apply")
            && entry
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or("")
                == subresource;
        if is_mine(entry) || !other_apply {
            continue;
        }
        let manager = entry
            .get("manager")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let api_version = entry
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(theirs) = entry.get_mut("fieldsV1") else {
            continue;
        };
        for path in &wanted {
            if !fieldset::contains(theirs, path) {
                continue;
            }
            if fieldset::value_at(current, path) == fieldset::value_at(config, path) {
                continue;
            }
            if force {
                fieldset::remove(theirs, path);
            } else {
                let field = fieldset::display(path);
                conflicts.push(Cause::new(
                    "FieldManagerConflict",
                    &field,
                    format!("conflict with \"{manager}\" using {api_version}"),
                ));
            }
        }
    }
    entries.retain(|e| {
        e.get("fieldsV1")
            .and_then(Value::as_object)
            .is_none_or(|m| !m.is_empty())
    });
    (entries, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_merge_and_removal() {
        let live = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}, "spec": {"x": 1},
            "status": {"conditions": [{"type": "Other", "status": "True"}]}});
        let cfg1 = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"},
            "status": {"phase": "A", "conditions": [{"type": "Ready", "status": "False"}]}});
        let r1 = apply(Some(&live), &cfg1, "ctl", true, true, false).unwrap_or_default();
        assert_eq!(
            r1.pointer("/status/conditions")
                .and_then(Value::as_array)
                .map(Vec::len),
            Some(2)
        );
        let cfg2 = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let r2 = apply(Some(&r1), &cfg2, "ctl", true, true, false).unwrap_or_default();
        assert_eq!(r2.pointer("/status/phase"), None);
        assert_eq!(
            r2.pointer("/status/conditions/0/type"),
            Some(&json!("Other"))
        );
        assert_eq!(
            r2.pointer("/status/conditions/1/status"),
            Some(&json!("True"))
        );
        assert_eq!(r2.pointer("/spec/x"), Some(&json!(1)));
    }
}
