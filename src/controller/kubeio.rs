//! Kubernetes reads and writes of the reconcile: referenced Secrets and ConfigMaps, annotations,
//! the finalizer and the status (server-side apply under one field manager).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::cached::CachedConnection;
use crate::api::{
    FIELD_MANAGER, FINALIZER, SamlConnection, SamlConnectionSpec, SamlConnectionStatus,
};
use crate::reconcile::Sources;
use crate::reconcile::desired::{referenced_config_maps, referenced_secrets};

/// Annotation recording the id of the connection the operator created.
pub const CONNECTION_ID_ANNOTATION: &str = "sso.stytch-operator.dev/connection-id";
/// Annotation set just before Create and removed once the id is recorded.
pub const CREATE_PENDING_ANNOTATION: &str = "sso.stytch-operator.dev/create-pending";
/// Annotation users set (to any new value) to ask for an immediate reconcile.
pub const RECONCILE_REQUESTED_ANNOTATION: &str = "sso.stytch-operator.dev/reconcile-requested-at";

/// Fetches the Secrets and ConfigMaps the spec references, from the resource's namespace only.
/// Missing objects are left out (validation reports them by name).
pub async fn fetch_sources(
    client: &kube::Client,
    obj: &CachedConnection,
) -> Result<Sources, kube::Error> {
    let mut sources = Sources::default();
    fetch_missing_sources(
        client,
        &obj.namespace().unwrap_or_default(),
        &obj.spec,
        &mut sources,
    )
    .await?;
    Ok(sources)
}

/// Adds to `sources` the referenced Secrets and ConfigMaps of namespace `ns` that it lacks.
pub async fn fetch_missing_sources(
    client: &kube::Client,
    ns: &str,
    spec: &SamlConnectionSpec,
    sources: &mut Sources,
) -> Result<(), kube::Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    for name in referenced_secrets(spec) {
        if sources.secrets.contains_key(&name) {
            continue;
        }
        if let Some(secret) = secrets.get_opt(&name).await? {
            let mut data: BTreeMap<String, Vec<u8>> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            for (k, v) in secret.string_data.unwrap_or_default() {
                data.insert(k, v.into_bytes());
            }
            sources.secrets.insert(name, data);
        }
    }
    for name in referenced_config_maps(spec) {
        if sources.config_maps.contains_key(&name) {
            continue;
        }
        if let Some(cm) = config_maps.get_opt(&name).await? {
            sources
                .config_maps
                .insert(name, cm.data.unwrap_or_default());
        }
    }
    Ok(())
}

/// Sets (`Some`) or removes (`None`) annotations with a merge patch.
pub async fn annotate(
    api: &Api<SamlConnection>,
    name: &str,
    annotations: &[(&str, Option<&str>)],
) -> Result<(), kube::Error> {
    let map: serde_json::Map<String, serde_json::Value> = annotations
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                v.map_or(serde_json::Value::Null, |v| json!(v)),
            )
        })
        .collect();
    let patch = json!({ "metadata": { "annotations": map } });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Adds the finalizer unless present (JSON patch guarded by a test, so concurrent edits of the
/// list conflict instead of being overwritten).
pub async fn ensure_finalizer(
    api: &Api<SamlConnection>,
    obj: &CachedConnection,
) -> Result<(), kube::Error> {
    if obj.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let patch = if obj.finalizers().is_empty() {
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": null },
            { "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] }
        ])
    } else {
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": obj.finalizers() },
            { "op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER }
        ])
    };
    let patch: json_patch::Patch =
        serde_json::from_value(patch).map_err(kube::Error::SerdeError)?;
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::<()>::Json(patch),
    )
    .await?;
    Ok(())
}

/// Removes the finalizer (guarded by a test of the current list).
pub async fn remove_finalizer(
    api: &Api<SamlConnection>,
    obj: &CachedConnection,
) -> Result<(), kube::Error> {
    let Some(index) = obj.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let patch = json!([
        { "op": "test", "path": format!("/metadata/finalizers/{index}"), "value": FINALIZER },
        { "op": "remove", "path": format!("/metadata/finalizers/{index}") }
    ]);
    let patch: json_patch::Patch =
        serde_json::from_value(patch).map_err(kube::Error::SerdeError)?;
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes the status with server-side apply under the operator's field manager.
pub async fn write_status(
    api: &Api<SamlConnection>,
    name: &str,
    status: &SamlConnectionStatus,
) -> Result<(), kube::Error> {
    let patch = json!({
        "apiVersion": "sso.stytch-operator.dev/v1alpha1",
        "kind": "SamlConnection",
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}
