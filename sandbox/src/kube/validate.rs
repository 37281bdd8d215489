//! Admission of custom resources against a CRD version's structural OpenAPI schema:
//! defaulting, pruning (or strict rejection) of unknown fields, structural validation and CEL
//! rules (`x-kubernetes-validations`, via `kube-cel`, including transition rules on `oldSelf`).

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult, Cause};
use super::resources::ResourceType;

/// Display of a value in `Invalid value: ...` messages.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "\"null\"".into(),
        Value::Array(_) => "\"array\"".into(),
        Value::Object(_) => "\"object\"".into(),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}.{seg}")
    }
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// Removes fields unknown to the schema, recording their paths.
pub fn prune(v: &mut Value, schema: &Value, path: &str, root: bool, unknown: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            let embedded = root || flag(schema, "x-kubernetes-embedded-resource");
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let sub = props.and_then(|p| p.get(&k)).or(additional);
                match (sub, map.get_mut(&k)) {
                    (Some(sub), Some(child)) => prune(child, sub, &join(path, &k), false, unknown),
                    (None, _) if preserve => {}
                    (None, _) => {
                        map.remove(&k);
                        unknown.push(join(path, &k));
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item, item_schema, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

fn type_ok(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => true,
    }
}

fn format_ok(s: &str, format: &str) -> bool {
    match format {
        "date-time" => s.parse::<jiff::Timestamp>().is_ok(),
        "date" => s.parse::<jiff::civil::Date>().is_ok(),
        "uri" => url::Url::parse(s).is_ok(),
        "email" => s.contains('@') && !s.starts_with('@') && !s.ends_with('@'),
        "int32" | "int64" | "byte" | "password" | "" => true,
        _ => true,
    }
}

/// Structural validation; appends causes.
pub fn check(v: &Value, schema: &Value, path: &str, root: bool, out: &mut Vec<Cause>) {
    let invalid = |out: &mut Vec<Cause>, msg: String| {
        out.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: {}: {msg}", show(v)),
        ));
    };
    if v.is_null() {
        if !flag(schema, "nullable") && schema.get("type").is_some() {
            let ty = schema
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("object");
            invalid(
                out,
                format!("{path} in body must be of type {ty}: \"null\""),
            );
        }
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            out.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!(
                    "Invalid value: {}: {path} in body must be of type integer,string: {:?}",
                    show(v),
                    type_name(v)
                ),
            ));
        }
        return;
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_ok(v, ty)
    {
        let got = type_name(v);
        out.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: \"{got}\": {path} in body must be of type {ty}: \"{got}\""),
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        out.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                v,
                list.join(", ")
            ),
        ));
    }
    match v {
        Value::String(s) => check_string(s, schema, path, v, out),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                let excl = flag(schema, "exclusiveMinimum");
                if x < min || (excl && x == min) {
                    let op = if excl {
                        "greater than"
                    } else {
                        "greater than or equal to"
                    };
                    invalid(out, format!("{path} in body should be {op} {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                let excl = flag(schema, "exclusiveMaximum");
                if x > max || (excl && x == max) {
                    let op = if excl {
                        "less than"
                    } else {
                        "less than or equal to"
                    };
                    invalid(out, format!("{path} in body should be {op} {max}"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                out.push(Cause::new(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                invalid(
                    out,
                    format!("{path} in body should have at least {min} items"),
                );
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), false, out);
                }
            }
            check_list_uniqueness(items, schema, path, out);
        }
        Value::Object(map) => check_object(map, schema, path, root, out),
        _ => {}
    }
}

fn check_string(s: &str, schema: &Value, path: &str, v: &Value, out: &mut Vec<Cause>) {
    let len = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        out.push(Cause::new(
            "FieldValueTooLong",
            path,
            format!("Too long: may not be more than {max} bytes"),
        ));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        out.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {path} in body should be at least {min} chars long",
                show(v)
            ),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let matched = regex::Regex::new(pattern)
            .map(|re| re.is_match(s))
            .unwrap_or(true);
        if !matched {
            out.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!(
                    "Invalid value: {}: {path} in body should match '{pattern}'",
                    show(v)
                ),
            ));
        }
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !format_ok(s, format)
    {
        out.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {path} in body must be of type {format}: {}",
                show(v),
                show(v)
            ),
        ));
    }
}

/// `x-kubernetes-list-type: map` (unique `x-kubernetes-list-map-keys`) and `set` (unique items).
fn check_list_uniqueness(items: &[Value], schema: &Value, path: &str, out: &mut Vec<Cause>) {
    let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let identity = |item: &Value| -> Value {
        match list_type {
            Some("map") => {
                let m: serde_json::Map<String, Value> = keys
                    .iter()
                    .map(|k| {
                        (
                            (*k).to_string(),
                            item.get(*k).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                Value::Object(m)
            }
            _ => item.clone(),
        }
    };
    if !matches!(list_type, Some("map") | Some("set")) {
        return;
    }
    let mut seen: Vec<Value> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = identity(item);
        if seen.contains(&id) {
            out.push(Cause::new(
                "FieldValueDuplicate",
                &format!("{path}[{i}]"),
                format!("Duplicate value: {id}"),
            ));
        } else {
            seen.push(id);
        }
    }
}

fn check_object(
    map: &Map<String, Value>,
    schema: &Value,
    path: &str,
    root: bool,
    out: &mut Vec<Cause>,
) {
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                out.push(Cause::new(
                    "FieldValueRequired",
                    &join(path, r),
                    "Required value",
                ));
            }
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (k, child) in map {
        if root && k == "metadata" {
            continue;
        }
        if let Some(sub) = props.and_then(|p| p.get(k)).or(additional) {
            check(child, sub, &join(path, k), false, out);
        }
    }
}

/// Defaults, prunes and validates a custom resource in place.
pub fn admit(
    rt: &ResourceType,
    version: &str,
    obj: &mut Value,
    old: Option<&Value>,
    strict: bool,
) -> ApiResult<()> {
    let Some(schema) = rt.version(version).and_then(|v| v.schema.clone()) else {
        return Ok(());
    };
    *obj = kube_cel::apply_defaults(&schema, obj);
    let mut unknown = Vec::new();
    prune(obj, &schema, "", true, &mut unknown);
    if strict && !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|u| format!("unknown field {u:?}"))
            .collect();
        return Err(ApiError::BadRequest(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            list.join(", "),
            kind = rt.kind
        )));
    }
    let mut causes = Vec::new();
    check(obj, &schema, "", true, &mut causes);
    if causes.is_empty() {
        super::cel::check_cel(&schema, obj, old, &mut causes);
    }
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind_group: rt.kind_group(),
        kind: rt.kind.clone(),
        group: rt.group.clone(),
        name: super::meta::name_of(obj).to_string(),
        causes,
    })
}
