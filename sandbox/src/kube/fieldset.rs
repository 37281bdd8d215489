//! Paths through `managedFields` `fieldsV1` sets (`f:name`, `k:{"type":"Ready"}`), used by
//! server-side apply to find and transfer contested fields.

use serde_json::{Map, Value};

/// A path of `fieldsV1` segments.
pub type FieldPath = Vec<String>;

/// Leaf paths of a field set (`.` entries mark a keyed item itself and are skipped).
pub fn leaves(set: &Value) -> Vec<FieldPath> {
    fn walk(set: &Value, prefix: &mut FieldPath, out: &mut Vec<FieldPath>) {
        let Value::Object(m) = set else { return };
        let children: Vec<(&String, &Value)> =
            m.iter().filter(|(k, _)| k.as_str() != ".").collect();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.push(prefix.clone());
            }
            return;
        }
        for (k, v) in children {
            prefix.push(k.clone());
            walk(v, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(set, &mut Vec::new(), &mut out);
    out
}

fn item_matches(item: &Value, id: &Map<String, Value>) -> bool {
    id.iter().all(|(k, v)| item.get(k) == Some(v))
}

/// The value an object holds at a field path.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path {
        if let Some(name) = seg.strip_prefix("f:") {
            cur = cur.get(name)?;
        } else if let Some(id) = seg.strip_prefix("k:") {
            let Ok(Value::Object(id)) = serde_json::from_str::<Value>(id) else {
                return None;
            };
            cur = cur.as_array()?.iter().find(|i| item_matches(i, &id))?;
        } else {
            return None;
        }
    }
    Some(cur)
}

/// Whether a field set contains a path (as a leaf or an interior node).
pub fn contains(set: &Value, path: &[String]) -> bool {
    let mut cur = set;
    for seg in path {
        match cur.get(seg) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

/// Removes a path from a field set, pruning emptied parents.
pub fn remove(set: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Value::Object(m) = set else { return };
    if rest.is_empty() {
        m.remove(first);
        return;
    }
    if let Some(child) = m.get_mut(first) {
        remove(child, rest);
        let empty = child
            .as_object()
            .is_some_and(|c| c.keys().all(|k| k == "."));
        if empty {
            m.remove(first);
        }
    }
}

/// Human form of a path, e.g. `.spec.color` or `.status.conditions[type="Ready"].status`.
pub fn display(path: &[String]) -> String {
    let mut s = String::new();
    for seg in path {
        if let Some(name) = seg.strip_prefix("f:") {
            s.push('.');
            s.push_str(name);
        } else if let Some(id) = seg.strip_prefix("k:") {
            let parts: Vec<String> = match serde_json::from_str::<Value>(id) {
                Ok(Value::Object(m)) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                _ => vec![id.to_string()],
            };
            s.push_str(&format!("[{}]", parts.join(",")));
        }
    }
    s
}

/// After a non-apply write (`old` -> `next`), apply managers lose the fields whose value changed
/// or disappeared: the writer takes them over, as on a real server.
pub fn release_changed(next: &mut Value, old: &Value) {
    let view = next.clone();
    let Some(entries) = next
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for entry in entries.iter_mut() {
        if entry.get("operation").and_then(Value::as_str) != Some("Apply") {
            continue;
        }
        let Some(set) = entry.get_mut("fieldsV1") else {
            continue;
        };
        for path in leaves(set) {
            if value_at(&view, &path) != value_at(old, &path) {
                remove(set, &path);
            }
        }
    }
    entries.retain(|e| {
        e.get("fieldsV1")
            .and_then(Value::as_object)
            .is_none_or(|m| !m.is_empty())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        let set = json!({"f:spec": {"f:color": {}}, "f:status": {"f:conditions": {
            "k:{\"type\":\"Ready\"}": {".": {}, "f:type": {}, "f:status": {}}}}});
        let l = leaves(&set);
        assert_eq!(l.len(), 3);
        let obj = json!({"spec": {"color": "red"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let p: FieldPath = vec![
            "f:status".into(),
            "f:conditions".into(),
            "k:{\"type\":\"Ready\"}".into(),
            "f:status".into(),
        ];
        assert_eq!(value_at(&obj, &p), Some(&json!("True")));
        assert_eq!(display(&p), ".status.conditions[type=\"Ready\"].status");
        let mut s = set.clone();
        remove(&mut s, &["f:spec".to_string(), "f:color".to_string()]);
        assert!(!contains(&s, &["f:spec".to_string()]));
    }
}
