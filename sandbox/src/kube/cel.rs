//! CEL validation rules (`x-kubernetes-validations`) evaluated with `kube-cel`, including
//! transition rules on `oldSelf`.

use serde_json::Value;

use super::error::Cause;
use super::validate::type_name;

fn value_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (name, idx) = match seg.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        cur = cur.get(name)?;
        if let Some(i) = idx {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// Runs CEL rules; appends causes.
pub fn check_cel(schema: &Value, obj: &Value, old: Option<&Value>, out: &mut Vec<Cause>) {
    let validator = kube_cel::Validator::new();
    if let Err(errors) = validator.validate(schema, obj, old) {
        for e in errors.iter() {
            let shown = value_at(obj, &e.field_path)
                .map(|v| format!("\"{}\"", type_name(v)))
                .unwrap_or("\"object\"".into());
            let reason = e
                .reason
                .clone()
                .unwrap_or_else(|| "FieldValueInvalid".into());
            let message = match reason.as_str() {
                "FieldValueRequired" => format!("Required value: {}", e.message),
                "FieldValueForbidden" => format!("Forbidden: {}", e.message),
                "FieldValueDuplicate" => format!("Duplicate value: {}", e.message),
                _ => format!("Invalid value: {shown}: {}", e.message),
            };
            out.push(Cause::new(&reason, &e.field_path, message));
        }
    }
}
