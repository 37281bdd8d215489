//! Server-side defaulting of built-in kinds that clients rely on.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::resources::ResourceType;

/// Applies built-in defaulting: Secret `stringData` is folded into base64 `data` and dropped,
/// and `type` defaults to `Opaque`; namespaces get the `kubernetes.io/metadata.name` label and
/// the `kubernetes` spec finalizer.
pub fn normalize(rt: &ResourceType, obj: &mut Value) {
    if rt.group.is_empty() && rt.kind == "Namespace" {
        let name = super::meta::name_of(obj).to_string();
        if !name.is_empty() {
            let meta = super::meta::meta_mut(obj);
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
        let empty = obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if empty && let Some(m) = obj.as_object_mut() {
            m.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
        }
        return;
    }
    if !(rt.group.is_empty() && rt.kind == "Secret") {
        return;
    }
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        let data = map
            .entry("data")
            .or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Value::Object(data) = data {
            for (k, v) in string_data {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                data.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
        }
    }
    let typ = map.entry("type").or_insert_with(|| json!("Opaque"));
    if typ.as_str().is_none_or(str::is_empty) {
        *typ = json!("Opaque");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::builtins;

    #[test]
    fn secret_string_data() {
        let rt = builtins().into_iter().find(|t| t.kind == "Secret");
        let Some(rt) = rt else { panic!("secret type") };
        let mut s = json!({"data": {"a": "eA=="}, "stringData": {"b": "hi"}});
        normalize(&rt, &mut s);
        assert_eq!(
            s,
            json!({"data": {"a": "eA==", "b": "aGk="}, "type": "Opaque"})
        );
    }
}
