//! `events.k8s.io/v1` Events seen through the core `v1` Event API (the real server shares their
//! storage), so `kubectl describe` shows events published by kube-runtime's `Recorder`.

use serde_json::{Map, Value, json};

/// Storage key of `events.k8s.io` Events.
pub const NEW_EVENTS_KEY: &str = "events.events.k8s.io";

/// Converts an `events.k8s.io/v1` Event to its core `v1` form.
pub fn to_core(ev: &Value) -> Value {
    let get = |k: &str| ev.get(k).cloned();
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("v1"));
    out.insert("kind".into(), json!("Event"));
    let pairs = [
        ("metadata", "metadata"),
        ("involvedObject", "regarding"),
        ("related", "related"),
        ("reason", "reason"),
        ("message", "note"),
        ("type", "type"),
        ("action", "action"),
        ("eventTime", "eventTime"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
        ("series", "series"),
    ];
    for (core, new) in pairs {
        if let Some(v) = get(new).filter(|v| !v.is_null()) {
            out.insert(core.into(), v);
        }
    }
    if let Some(c) = get("reportingController").filter(|_| !out.contains_key("source")) {
        out.insert("source".into(), json!({"component": c}));
    }
    if let Some(series) = ev.get("series") {
        if let Some(t) = series.get("lastObservedTime") {
            out.entry("lastTimestamp").or_insert_with(|| t.clone());
        }
        if let Some(c) = series.get("count") {
            out.entry("count").or_insert_with(|| c.clone());
        }
    }
    if let Some(t) = get("eventTime").filter(|t| !t.is_null()) {
        out.entry("firstTimestamp").or_insert_with(|| t.clone());
        out.entry("lastTimestamp").or_insert(t);
    }
    out.entry("count").or_insert(json!(1));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_fields() {
        let ev = json!({"metadata": {"name": "e"}, "regarding": {"name": "w", "kind": "Widget"},
            "note": "hi", "reason": "Synced", "type": "Normal", "reportingController": "ctl",
            "eventTime": "2024-01-01T00:00:00.000000Z", "series": {"count": 3, "lastObservedTime": "2024-01-01T00:01:00.000000Z"}});
        let core = to_core(&ev);
        assert_eq!(core["involvedObject"]["name"], "w");
        assert_eq!(core["message"], "hi");
        assert_eq!(core["count"], 3);
        assert_eq!(core["lastTimestamp"], "2024-01-01T00:01:00.000000Z");
        assert_eq!(core["source"]["component"], "ctl");
    }
}
