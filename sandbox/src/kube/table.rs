//! `meta.k8s.io/v1` Table rendering for `kubectl get`, with a small JSONPath evaluator for
//! CRD `additionalPrinterColumns` (`.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.k=="v")].b`).

use serde_json::{Value, json};

use super::meta;
use super::resources::ResourceType;

fn split_path(path: &str) -> Vec<String> {
    let p = path.trim().trim_start_matches('{').trim_end_matches('}');
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in p.chars() {
        match c {
            '[' => {
                if depth == 0 && !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
                if depth == 0 {
                    out.push(std::mem::take(&mut cur));
                }
            }
            '.' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn filter_matches(item: &Value, expr: &str) -> bool {
    // expr like @.type=="Ready"
    let Some((lhs, rhs)) = expr.split_once("==") else {
        let path = expr.trim().trim_start_matches('@');
        return !eval(item, path).is_empty();
    };
    let lhs = lhs.trim().trim_start_matches('@');
    let want = rhs.trim().trim_matches('"').trim_matches('\'');
    eval(item, lhs).iter().any(|v| match v {
        Value::String(s) => s == want,
        other => other.to_string().as_str() == want,
    })
}

/// Evaluates a simple JSONPath, returning all matches.
pub fn eval(root: &Value, path: &str) -> Vec<Value> {
    let mut cur = vec![root.clone()];
    for seg in split_path(path) {
        let mut next = Vec::new();
        if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            for v in &cur {
                let Some(items) = v.as_array() else { continue };
                if inner == "*" {
                    next.extend(items.iter().cloned());
                } else if let Some(expr) =
                    inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')'))
                {
                    next.extend(items.iter().filter(|i| filter_matches(i, expr)).cloned());
                } else if let Ok(i) = inner.parse::<i64>() {
                    let idx = if i < 0 { items.len() as i64 + i } else { i };
                    if let Some(x) = usize::try_from(idx).ok().and_then(|i| items.get(i)) {
                        next.push(x.clone());
                    }
                } else {
                    let key = inner.trim_matches('\'').trim_matches('"');
                    next.extend(v.get(key).cloned());
                }
            }
        } else {
            for v in &cur {
                if let Some(x) = v.get(&seg) {
                    next.push(x.clone());
                }
            }
        }
        cur = next;
    }
    cur
}

fn cell(ty: &str, values: &[Value]) -> Value {
    let Some(first) = values.first() else {
        return Value::Null;
    };
    match ty {
        "date" => match first.as_str().and_then(meta::age_secs) {
            Some(secs) => json!(meta::human_duration(secs)),
            None => json!("<invalid>"),
        },
        "string" => {
            let parts: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            json!(parts.join(" "))
        }
        _ => first.clone(),
    }
}

fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// Renders objects as a Table.
pub fn render(
    rt: &ResourceType,
    version: &str,
    items: &[Value],
    rv: u64,
    include_object: &str,
) -> Value {
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    let columns: Vec<Value> = rt
        .version(version)
        .map(|v| v.columns.clone())
        .unwrap_or_default();
    for c in &columns {
        defs.push(json!({
            "name": c.get("name").cloned().unwrap_or(json!("")),
            "type": c.get("type").cloned().unwrap_or(json!("string")),
            "format": c.get("format").cloned().unwrap_or(json!("")),
            "description": c.get("description").cloned().unwrap_or(json!("")),
            "priority": c.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    let has_age = columns
        .iter()
        .any(|c| c.get("name").and_then(Value::as_str) == Some("Age"));
    if !has_age {
        defs.push(json!({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0}));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut cells = vec![json!(meta::name_of(obj))];
            for c in &columns {
                let path = c.get("jsonPath").and_then(Value::as_str).unwrap_or("");
                let ty = c.get("type").and_then(Value::as_str).unwrap_or("string");
                cells.push(cell(ty, &eval(obj, path)));
            }
            if !has_age {
                let created = meta::meta_str(obj, "creationTimestamp")
                    .map(|t| json!(t))
                    .unwrap_or(Value::Null);
                let age = cell("date", std::slice::from_ref(&created));
                cells.push(if created.is_null() {
                    json!("<unknown>")
                } else {
                    age
                });
            }
            let object = match include_object {
                "None" => Value::Null,
                "Object" => obj.clone(),
                _ => partial(obj),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath() {
        let o = json!({"spec": {"x": 3}, "status": {"conditions": [
            {"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(eval(&o, ".spec.x"), vec![json!(3)]);
        assert_eq!(
            eval(&o, r#".status.conditions[?(@.type=="Ready")].status"#),
            vec![json!("True")]
        );
        assert_eq!(
            eval(&o, ".status.conditions[0].type"),
            vec![json!("Synced")]
        );
        assert_eq!(eval(&o, ".status.conditions[*].type").len(), 2);
        assert!(eval(&o, ".spec.missing").is_empty());
    }
}
