//! OpenAPI v3 documents: an index at `/openapi/v3` and one document per group-version with
//! `components.schemas` (CRD schemas embedded, built-in kinds as open objects) and PATCH
//! operations declaring the `fieldValidation` parameter so `kubectl` delegates validation to
//! the server (`/openapi/v2` is not served).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::discovery::{groups, types_in};
use super::resources::{ResourceType, schema_prefix};
use super::store::State;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3` index.
pub fn index(state: &State) -> Value {
    let mut paths = Map::new();
    let mut gvs = vec![(String::new(), "v1".to_string())];
    for (g, vs) in groups(state) {
        for v in vs {
            gvs.push((g.clone(), v));
        }
    }
    for (g, v) in gvs {
        let doc = document(state, &g, &v);
        let hash = format!("{:X}", Sha256::digest(doc.to_string().as_bytes()));
        let p = gv_path(&g, &v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", &hash[..32])}),
        );
    }
    json!({"paths": paths})
}

fn schema_name(rt: &ResourceType, version: &str) -> String {
    format!("{}.{}", schema_prefix(&rt.group, version), rt.kind)
}

fn kind_schema(rt: &ResourceType, version: &str) -> Value {
    let gvk = json!([{"group": rt.group, "version": version, "kind": rt.kind}]);
    let mut schema = rt
        .version(version)
        .and_then(|v| v.schema.clone())
        .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
    if let Some(m) = schema.as_object_mut() {
        m.insert("x-kubernetes-group-version-kind".into(), gvk);
        if !m.contains_key("description") {
            m.insert(
                "description".into(),
                json!(format!("{} is a {} resource.", rt.kind, rt.kind_group())),
            );
        }
        let props = m.entry("properties").or_insert_with(|| json!({}));
        if let Some(p) = props.as_object_mut() {
            p.insert("apiVersion".into(), json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
            p.insert("kind".into(), json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
            p.insert("metadata".into(), json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}], "default": {}, "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}));
        }
    }
    schema
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "description": name, "schema": {"type": "string", "uniqueItems": true}})
}

fn operations(rt: &ResourceType, version: &str, name: &str) -> Value {
    let gvk = json!({"group": rt.group, "version": version, "kind": rt.kind});
    let schema_ref = json!({"$ref": format!("#/components/schemas/{name}")});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}});
    let body = |types: &[&str]| {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| ((*t).to_string(), json!({"schema": {"type": "object"}})))
            .collect();
        json!({"content": content, "required": true})
    };
    json!({
        "get": {"operationId": format!("read{}", rt.kind), "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, "responses": ok},
        "put": {"operationId": format!("replace{}", rt.kind), "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk,
            "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation")], "requestBody": body(&["*/*"]), "responses": ok},
        "patch": {"operationId": format!("patch{}", rt.kind), "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
            "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation"), param("force")],
            "requestBody": body(&["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]),
            "responses": ok},
        "delete": {"operationId": format!("delete{}", rt.kind), "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk, "responses": ok},
    })
}

/// The document of one group-version.
pub fn document(state: &State, group: &str, version: &str) -> Value {
    let mut schemas = Map::new();
    schemas.insert(
        OBJECT_META.into(),
        json!({"type": "object", "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
            "properties": {
                "name": {"type": "string", "description": "Name must be unique within a namespace."},
                "namespace": {"type": "string", "description": "Namespace defines the space within which each name must be unique."},
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Map of string keys and values that can be used to organize and categorize objects."},
                "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""}, "description": "Annotations is an unstructured key value map."},
                "finalizers": {"type": "array", "items": {"type": "string", "default": ""}, "description": "Must be empty before the object is deleted from the registry."},
                "generateName": {"type": "string", "description": "GenerateName is an optional prefix used by the server to generate a unique name."},
                "uid": {"type": "string", "description": "UID is the unique in time and space value for this object."},
                "resourceVersion": {"type": "string", "description": "An opaque value that represents the internal version of this object."},
                "generation": {"type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state."},
                "creationTimestamp": {"type": "string", "format": "date-time", "description": "CreationTimestamp is a timestamp representing the server time when this object was created."},
                "deletionTimestamp": {"type": "string", "format": "date-time", "description": "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."},
                "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "description": "List of objects depended by this object."},
                "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "description": "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow."}
            }}),
    );
    let mut paths = Map::new();
    for rt in types_in(state, group, version) {
        let name = schema_name(rt, version);
        schemas.insert(name.clone(), kind_schema(rt, version));
        let base = format!("/{}", gv_path(group, version));
        let item = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{base}/{}/{{name}}", rt.plural)
        };
        paths.insert(item, operations(rt, version, &name));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
