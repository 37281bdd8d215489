//! Patch application: JSON merge patch, JSON patch, strategic merge patch (simplified) and
//! server-side apply (see [`super::ssa`]).

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// The patch flavours, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchKind {
    /// Parses a `Content-Type` header.
    pub fn from_content_type(ct: &str) -> ApiResult<Self> {
        let mime = ct.split(';').next().unwrap_or("").trim();
        match mime {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/json-patch+json" => Ok(Self::Json),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            _ => Err(ApiError::UnsupportedMediaType(
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json".into(),
            )),
        }
    }
}

/// Parses a body as JSON, or YAML for apply patches.
pub fn parse_body(body: &[u8], yaml_ok: bool) -> ApiResult<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(e) if yaml_ok => {
            let text =
                std::str::from_utf8(body).map_err(|_| ApiError::BadRequest(e.to_string()))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|ye| ApiError::BadRequest(format!("error decoding YAML: {ye}")))
        }
        Err(e) => Err(ApiError::BadRequest(format!("error decoding patch: {e}"))),
    }
}

/// Applies a JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies a JSON patch. Like the real API server, a `test` of `null` passes for a missing path.
pub fn json(target: &mut Value, patch: &Value) -> ApiResult<()> {
    let mut patch = patch.clone();
    if let Some(ops) = patch.as_array_mut() {
        ops.retain(|op| {
            let null_test = op.get("op").and_then(Value::as_str) == Some("test")
                && op.get("value").is_none_or(Value::is_null);
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            !(null_test && target.pointer(path).is_none_or(Value::is_null))
        });
    }
    let ops: json_patch::Patch = serde_json::from_value(patch)
        .map_err(|e| ApiError::BadRequest(format!("error decoding JSON patch: {e}")))?;
    json_patch::patch(target, &ops).map_err(|e| ApiError::Custom {
        code: 422,
        reason: "Invalid".into(),
        message: format!("the server rejected our request due to an error in our request: {e}"),
    })
}

/// Merge key of a list of objects: `name`, `type`, or a port key, when every item has it.
pub fn list_key(items: &[&Value]) -> Option<&'static str> {
    ["name", "type", "containerPort", "port", "mountPath", "ip"]
        .into_iter()
        .find(|k| !items.is_empty() && items.iter().all(|i| i.get(*k).is_some()))
}

/// Applies a strategic merge patch: a merge patch where lists of objects sharing a merge key
/// (`name`, `type`, ports, ...) are merged item by item (`$patch: delete` removes an item), and
/// `$`-directives such as `$setElementOrder` / `$retainKeys` are ignored.
pub fn strategic(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, pv) in p {
        if k.starts_with('$') {
            continue;
        }
        match pv {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(_) => strategic(t.entry(k.clone()).or_insert(Value::Null), pv),
            Value::Array(pitems) => {
                let current = t
                    .get(k)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let all: Vec<&Value> = pitems.iter().chain(current.iter()).collect();
                match list_key(&all) {
                    Some(key) if all.iter().all(|v| v.is_object()) => {
                        let merged = merge_keyed(current, pitems, key);
                        t.insert(k.clone(), Value::Array(merged));
                    }
                    _ => {
                        t.insert(k.clone(), pv.clone());
                    }
                }
            }
            _ => {
                t.insert(k.clone(), pv.clone());
            }
        }
    }
}

fn merge_keyed(mut current: Vec<Value>, patch: &[Value], key: &str) -> Vec<Value> {
    for item in patch {
        let id = item.get(key);
        let pos = current.iter().position(|c| c.get(key) == id);
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                current.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic(&mut current[i], item),
            (None, false) => {
                let mut fresh = Value::Object(Map::new());
                strategic(&mut fresh, item);
                current.push(fresh);
            }
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_named_lists() {
        let mut t = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let p = json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "a", "$patch": "delete"}],
            "$setElementOrder/containers": [{"name": "b"}]}});
        strategic(&mut t, &p);
        assert_eq!(
            t,
            json!({"spec": {"containers": [{"name": "b", "image": "z"}]}})
        );
    }

    #[test]
    fn scalar_lists_replace() {
        let mut t = json!({"a": [1, 2], "b": 1});
        strategic(&mut t, &json!({"a": [3], "b": null}));
        assert_eq!(t, json!({"a": [3]}));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml").ok(),
            Some(PatchKind::Apply)
        );
        assert!(PatchKind::from_content_type("text/plain").is_err());
    }
}
