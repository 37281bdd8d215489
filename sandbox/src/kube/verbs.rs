//! The list, watch-parameter and patch verbs of resource requests.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::handlers::{
    App, Query, Target, json_response, out, partial, wants_metadata, wants_table,
};
use super::ops::{self, WriteOpts};
use super::patch::{self, PatchKind};
use super::selectors::{FieldSelector, LabelSelector};
use super::{events, ssa, table, watch};

pub(crate) fn watch_spec(
    t: &Target,
    q: &Query,
    table: bool,
    metadata_only: bool,
) -> ApiResult<watch::WatchSpec> {
    Ok(watch::WatchSpec {
        rt: t.rt.clone(),
        version: t.version.clone(),
        ns: t.ns.clone(),
        labels: LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?,
        fields: FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or(""))?,
        rv: q.get("resourceVersion").cloned(),
        send_initial: q.get("sendInitialEvents").is_some_and(|v| v == "true"),
        bookmarks: q.get("allowWatchBookmarks").is_some_and(|v| v == "true"),
        table,
        metadata_only,
        timeout: q
            .get("timeoutSeconds")
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs),
    })
}

pub(crate) fn list(
    app: &Arc<App>,
    t: &Target,
    q: &Query,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let labels = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or(""))?;
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let after: Option<(String, String)> = q
        .get("continue")
        .filter(|c| !c.is_empty())
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once('\0')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let state = app.store.lock();
    let mut items = Vec::new();
    let mut next = None;
    let merged;
    let source = if t.rt.key() == "events" {
        // Core Events also show events.k8s.io Events, as on a real server.
        let mut all = state.objects("events").cloned().unwrap_or_default();
        for (k, v) in state.objects(events::NEW_EVENTS_KEY).into_iter().flatten() {
            all.entry(k.clone()).or_insert_with(|| events::to_core(v));
        }
        merged = all;
        Some(&merged)
    } else {
        state.objects(&t.rt.key())
    };
    if let Some(objs) = source {
        for ((ons, oname), obj) in objs {
            if after.as_ref().is_some_and(|a| (ons, oname) <= (&a.0, &a.1)) {
                continue;
            }
            if t.ns.as_ref().is_some_and(|ns| ns != ons)
                || !labels.matches(obj)
                || !fields.matches(obj)
            {
                continue;
            }
            if items.len() == limit {
                let last: &Value = items.last().unwrap_or(obj);
                let (lns, lname) = (
                    super::meta::meta_str(last, "namespace").unwrap_or(""),
                    super::meta::name_of(last),
                );
                next = Some(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(format!("{lns}\0{lname}")),
                );
                break;
            }
            items.push(out(t, obj.clone()));
        }
    }
    if wants_table(headers) {
        let inc = q
            .get("includeObject")
            .map(String::as_str)
            .unwrap_or("Metadata");
        let mut tbl = table::render(&t.rt, &t.version, &items, state.rv, inc);
        if let Some(c) = next {
            tbl["metadata"]["continue"] = json!(c);
        }
        return Ok(json_response(StatusCode::OK, &tbl));
    }
    let mut metadata = json!({"resourceVersion": state.rv.to_string()});
    if let Some(c) = next {
        metadata["continue"] = json!(c);
    }
    if wants_metadata(headers) {
        let items: Vec<Value> = items.iter().map(partial).collect();
        let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "items": items});
        return Ok(json_response(StatusCode::OK, &list));
    }
    let list = json!({"kind": format!("{}List", t.rt.kind), "apiVersion": t.rt.api_version(&t.version), "metadata": metadata, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn patch_object(
    app: &Arc<App>,
    t: &Target,
    name: &str,
    q: &Query,
    headers: &HeaderMap,
    body: &Bytes,
    mut opts: WriteOpts,
) -> ApiResult<Response> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let kind = PatchKind::from_content_type(ct)?;
    let p = patch::parse_body(body, kind == PatchKind::Apply)?;
    let ns = t.ns.clone().unwrap_or_default();
    let mut state = app.store.lock();
    let current = ops::get(&state, &t.rt, &ns, name);
    let current = match (kind, current) {
        (PatchKind::Apply, Err(ApiError::NotFound { .. })) if !t.status => None,
        (_, r) => Some(r?),
    };
    let patched = match kind {
        PatchKind::Merge | PatchKind::Json | PatchKind::Strategic => {
            let mut obj = out(t, current.clone().unwrap_or(json!({})));
            match kind {
                PatchKind::Merge => patch::merge(&mut obj, &p),
                PatchKind::Json => patch::json(&mut obj, &p)?,
                _ => patch::strategic(&mut obj, &p),
            }
            obj
        }
        PatchKind::Apply => {
            let manager = q.get("fieldManager").filter(|m| !m.is_empty()).ok_or_else(|| {
                ApiError::BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into())
            })?;
            if p.get("apiVersion").is_none() || p.get("kind").is_none() {
                return Err(ApiError::BadRequest(
                    "apply patches must specify apiVersion and kind".into(),
                ));
            }
            opts.apply = true;
            let has_status = t.rt.version(&t.version).is_some_and(|v| v.status);
            ssa::apply(
                current.as_ref().map(|c| out(t, c.clone())).as_ref(),
                &p,
                manager,
                t.status,
                has_status,
                q.get("force").is_some_and(|f| f == "true"),
            )
            .map_err(ApiError::ApplyConflict)?
        }
    };
    if current.is_none() {
        let mut patched = patched;
        super::meta::meta_mut(&mut patched).insert("name".into(), json!(name));
        let created = ops::create(&mut state, &t.rt, &ns, patched, &opts)?;
        return Ok(json_response(StatusCode::CREATED, &out(t, created)));
    }
    let updated = ops::update(&mut state, &t.rt, &ns, name, patched, t.status, &opts)?;
    Ok(json_response(StatusCode::OK, &out(t, updated)))
}
