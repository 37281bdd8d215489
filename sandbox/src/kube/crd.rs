//! CustomResourceDefinition handling: turning a CRD into a served resource type.

use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, Cause};
use super::meta;
use super::resources::{ResourceType, VersionInfo, key_of};
use super::store::State;

/// Key of the CRD resource itself.
pub const CRD_KEY: &str = "customresourcedefinitions.apiextensions.k8s.io";

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn strings(v: &Value, ptr: &str) -> Vec<String> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Validates a CRD and builds its resource type.
pub fn resource_type(crd: &Value) -> ApiResult<ResourceType> {
    let name = meta::name_of(crd).to_string();
    let mut causes = Vec::new();
    let group = s(crd, "/spec/group").unwrap_or_default().to_string();
    let plural = s(crd, "/spec/names/plural").unwrap_or_default().to_string();
    let kind = s(crd, "/spec/names/kind").unwrap_or_default().to_string();
    if group.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.group",
            "Required value",
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.names.plural",
            "Required value",
        ));
    }
    if kind.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.names.kind",
            "Required value",
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let scope = s(crd, "/spec/scope").unwrap_or("Namespaced");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!("Unsupported value: {scope:?}: supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    let mut versions = Vec::new();
    let raw_versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if raw_versions.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
        ));
    }
    let mut storage_first = Vec::new();
    for v in &raw_versions {
        if !v.get("served").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let info = VersionInfo {
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            columns: v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            status: v.pointer("/subresources/status").is_some(),
        };
        if v.get("storage").and_then(Value::as_bool).unwrap_or(false) {
            storage_first.insert(0, info);
        } else {
            storage_first.push(info);
        }
    }
    versions.extend(storage_first);
    if !causes.is_empty() {
        return Err(ApiError::Invalid {
            kind_group: "CustomResourceDefinition.apiextensions.k8s.io".into(),
            kind: "CustomResourceDefinition".into(),
            group: "apiextensions.k8s.io".into(),
            name,
            causes,
        });
    }
    Ok(ResourceType {
        singular: s(crd, "/spec/names/singular")
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        short_names: strings(crd, "/spec/names/shortNames"),
        categories: strings(crd, "/spec/names/categories"),
        namespaced: scope == "Namespaced",
        custom: true,
        group,
        versions,
        kind,
        plural,
    })
}

/// Fills in defaulted names and the `Established`/`NamesAccepted` status.
pub fn set_status(crd: &mut Value, rt: &ResourceType) {
    let now = meta::now();
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        names
            .entry("singular")
            .or_insert_with(|| json!(rt.singular));
        names
            .entry("listKind")
            .or_insert_with(|| json!(format!("{}List", rt.kind)));
    }
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let stored: Vec<String> = rt
        .versions
        .first()
        .map(|v| vec![v.name.clone()])
        .unwrap_or_default();
    let cond = |t: &str, reason: &str, msg: &str| json!({"type": t, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": now});
    crd["status"] = json!({
        "acceptedNames": names,
        "storedVersions": stored,
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
    });
}

/// Registers (or refreshes) the type of a stored CRD.
pub fn register(state: &mut State, rt: ResourceType) {
    tracing::info!(resource = %rt.key(), kind = %rt.kind, "registered custom resource");
    state.types.insert(rt.key(), rt);
}

/// Unregisters the type of a deleted CRD and deletes all its objects.
pub fn unregister(state: &mut State, crd: &Value) {
    let group = s(crd, "/spec/group").unwrap_or_default();
    let plural = s(crd, "/spec/names/plural").unwrap_or_default();
    let key = key_of(group, plural);
    let objects = state.objects.remove(&key).unwrap_or_default();
    for ((ns, name), mut obj) in objects {
        let rv = state.next_rv();
        meta::set_rv(&mut obj, rv);
        state.remove(&key, &ns, &name, obj);
    }
    state.types.remove(&key);
    tracing::info!(resource = %key, "unregistered custom resource");
}
