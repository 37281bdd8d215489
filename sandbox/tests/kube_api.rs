//! kube-rs against the sandbox: CRUD and API conventions.

mod kube_common;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::DynamicObject;
use kube_common::*;
use serde_json::json;

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected API error, got {other:?}"),
    }
}

#[tokio::test]
async fn crud_with_generate_name_and_default_namespaces() {
    bounded(async {
        let sb = start().await;
        let client = sb.client().await.expect("client");
        let nss: Api<Namespace> = Api::all(client.clone());
        let names: Vec<String> = nss
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        assert!(
            names.contains(&"default".into()) && names.contains(&"kube-system".into()),
            "{names:?}"
        );

        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let mut cm = ConfigMap::default();
        cm.metadata.generate_name = Some("cfg-".into());
        cm.data = Some([("a".to_string(), "1".to_string())].into());
        let created = cms
            .create(&PostParams::default(), &cm)
            .await
            .expect("create");
        let name = created.metadata.name.clone().expect("name");
        assert!(name.starts_with("cfg-") && name.len() == 9, "{name}");
        assert_eq!(created.metadata.uid.as_ref().map(String::len), Some(36));
        assert!(created.metadata.creation_timestamp.is_some());

        let got = cms.get(&name).await.expect("get");
        assert_eq!(got.data, cm.data);
        let mut changed = got.clone();
        changed.data = Some([("a".to_string(), "2".to_string())].into());
        let replaced = cms
            .replace(&name, &PostParams::default(), &changed)
            .await
            .expect("replace");
        assert_eq!(
            replaced.data.and_then(|d| d.get("a").cloned()).as_deref(),
            Some("2")
        );

        cms.delete(&name, &DeleteParams::default())
            .await
            .expect("delete");
        let err = api_err(cms.get(&name).await.expect_err("gone"));
        assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));

        // Objects in a missing namespace are refused.
        let other: Api<Secret> = Api::namespaced(client.clone(), "nope");
        let mut s = Secret::default();
        s.metadata.name = Some("s".into());
        let err = api_err(
            other
                .create(&PostParams::default(), &s)
                .await
                .expect_err("no ns"),
        );
        assert_eq!(err.code, 404);
    })
    .await;
}

#[tokio::test]
async fn already_exists_and_resource_version_monotonic() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut last = 0;
        for i in 0..5 {
            let w = api
                .create(&PostParams::default(), &widget(&format!("w{i}"), "red", 1))
                .await
                .expect("create");
            assert!(rv(&w) > last, "rv must increase");
            last = rv(&w);
        }
        let patched = api
            .patch(
                "w0",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": 2}})),
            )
            .await
            .expect("patch");
        assert!(rv(&patched) > last);
        let list = api.list(&ListParams::default()).await.expect("list");
        let list_rv: u64 = list
            .metadata
            .resource_version
            .as_deref()
            .and_then(|r| r.parse().ok())
            .expect("list rv");
        assert!(list_rv >= rv(&patched));

        let err = api_err(
            api.create(&PostParams::default(), &widget("w1", "red", 1))
                .await
                .expect_err("dup"),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
        assert_eq!(err.message, "widgets.example.test \"w1\" already exists");
    })
    .await;
}

#[tokio::test]
async fn conflict_on_stale_update() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let w = api
            .create(&PostParams::default(), &widget("w", "red", 1))
            .await
            .expect("create");
        let mut a = w.clone();
        a.data["spec"]["size"] = json!(2);
        api.replace("w", &PostParams::default(), &a)
            .await
            .expect("first update");
        let mut stale = w.clone();
        stale.data["spec"]["size"] = json!(3);
        let err = api_err(
            api.replace("w", &PostParams::default(), &stale)
                .await
                .expect_err("stale"),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert!(
            err.message.contains("the object has been modified"),
            "{}",
            err.message
        );
    })
    .await;
}

#[tokio::test]
async fn generation_bumps_only_on_spec_changes() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let w = api
            .create(&PostParams::default(), &widget("w", "red", 1))
            .await
            .expect("create");
        assert_eq!(w.metadata.generation, Some(1));
        let w = api
            .patch(
                "w",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
            )
            .await
            .expect("label");
        assert_eq!(
            w.metadata.generation,
            Some(1),
            "metadata change must not bump"
        );
        let w = api
            .patch_status(
                "w",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Up"}})),
            )
            .await
            .expect("status");
        assert_eq!(
            w.metadata.generation,
            Some(1),
            "status change must not bump"
        );
        let w = api
            .patch(
                "w",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": 5}})),
            )
            .await
            .expect("spec");
        assert_eq!(w.metadata.generation, Some(2));
        // A no-op update keeps generation and resourceVersion.
        let again = api
            .patch(
                "w",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": 5}})),
            )
            .await
            .expect("noop");
        assert_eq!((again.metadata.generation, rv(&again)), (Some(2), rv(&w)));
        // Built-ins without status subresource: generation still starts at 1.
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("c".into());
        let cm = cms.create(&PostParams::default(), &cm).await.expect("cm");
        assert_eq!(cm.metadata.generation, Some(1));
    })
    .await;
}

#[tokio::test]
async fn status_subresource_isolation() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut w = widget("w", "red", 1);
        w.data["status"] = json!({"phase": "Ignored"});
        let w = api.create(&PostParams::default(), &w).await.expect("create");
        assert!(w.data.get("status").is_none(), "status dropped on create");
        // Main endpoint ignores status.
        let w = api.patch("w", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 2}, "status": {"phase": "X"}}))).await.expect("main");
        assert!(w.data.get("status").is_none());
        assert_eq!(w.data["spec"]["size"], json!(2));
        // Status endpoint ignores spec and labels.
        let w = api
            .patch_status("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}, "spec": {"size": 9}, "status": {"phase": "Up"}})))
            .await
            .expect("status");
        assert_eq!(w.data["spec"]["size"], json!(2));
        assert_eq!(w.data["status"]["phase"], json!("Up"));
        assert!(w.metadata.labels.is_none());
        // PUT on /status with a stale resourceVersion conflicts.
        let mut stale = w.clone();
        stale.metadata.resource_version = Some("1".into());
        let err = api_err(api.replace_status("w", &PostParams::default(), &stale).await.expect_err("stale"));
        assert_eq!(err.code, 409);
    })
    .await;
}

#[tokio::test]
async fn label_and_field_selectors_and_pagination() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let nss: Api<Namespace> = Api::all(client.clone());
        let mut ns = Namespace::default();
        ns.metadata.name = Some("other".into());
        nss.create(&PostParams::default(), &ns).await.expect("ns");
        for (ns, name, tier) in [
            ("default", "a", "fe"),
            ("default", "b", "be"),
            ("other", "c", "fe"),
            ("default", "d", "db"),
        ] {
            let mut w = widget(name, "red", 1);
            w.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
            widgets(&client, ns)
                .create(&PostParams::default(), &w)
                .await
                .expect("create");
        }
        let names = |l: kube::core::ObjectList<DynamicObject>| {
            l.items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect::<Vec<_>>()
        };
        let api = widgets(&client, "default");
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("tier=fe"))
                    .await
                    .expect("eq")
            ),
            vec!["a"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("tier in (fe,be)"))
                    .await
                    .expect("in")
            ),
            vec!["a", "b"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("tier notin (fe),tier"))
                    .await
                    .expect("notin")
            ),
            vec!["b", "d"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("!tier"))
                    .await
                    .expect("!")
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().fields("metadata.name=b"))
                    .await
                    .expect("field")
            ),
            vec!["b"]
        );
        let all: Api<DynamicObject> = Api::all_with(client.clone(), &widget_resource());
        assert_eq!(
            names(
                all.list(&ListParams::default().labels("tier=fe"))
                    .await
                    .expect("all")
            ),
            vec!["a", "c"]
        );
        assert_eq!(
            names(
                all.list(&ListParams::default().fields("metadata.namespace!=default"))
                    .await
                    .expect("ns")
            ),
            vec!["c"]
        );
        // limit / continue
        let page1 = all
            .list(&ListParams::default().limit(3))
            .await
            .expect("page1");
        let token = page1.metadata.continue_.clone().expect("continue token");
        assert_eq!(page1.items.len(), 3);
        let page2 = all
            .list(&ListParams::default().limit(3).continue_token(&token))
            .await
            .expect("page2");
        assert_eq!(page2.items.len(), 1);
        assert!(page2.metadata.continue_.is_none());
        let err = api_err(
            api.list(&ListParams::default().labels("tier in fe"))
                .await
                .expect_err("bad selector"),
        );
        assert_eq!(err.code, 400);
    })
    .await;
}

#[tokio::test]
async fn dry_run_does_not_persist() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let before = sb.resource_version();
        let w = api
            .create(
                &PostParams {
                    dry_run: true,
                    ..Default::default()
                },
                &widget("dry", "red", 1),
            )
            .await
            .expect("dry create");
        assert_eq!(w.metadata.name.as_deref(), Some("dry"));
        assert_eq!(
            w.data["spec"]["maxSize"],
            json!(10),
            "defaults applied in dry run"
        );
        assert_eq!(api_err(api.get("dry").await.expect_err("absent")).code, 404);
        api.create(&PostParams::default(), &widget("real", "red", 1))
            .await
            .expect("create");
        let pp = PatchParams {
            dry_run: true,
            ..Default::default()
        };
        let p = api
            .patch("real", &pp, &Patch::Merge(json!({"spec": {"size": 4}})))
            .await
            .expect("dry patch");
        assert_eq!(p.data["spec"]["size"], json!(4));
        assert_eq!(
            api.get("real").await.expect("get").data["spec"]["size"],
            json!(1)
        );
        api.delete(
            "real",
            &DeleteParams {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .expect("dry delete");
        assert!(api.get("real").await.is_ok());
        assert!(sb.resource_version() > before);
    })
    .await;
}

#[tokio::test]
async fn validation_errors_are_invalid_statuses_with_causes() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut w = widget("bad", "purple", 0);
        w.data["spec"]["tags"] = json!(["a", "b", "c", "d"]);
        let err = api_err(api.create(&PostParams::default(), &w).await.expect_err("invalid"));
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(err.message.starts_with("Widget.example.test \"bad\" is invalid: ["), "{}", err.message);
        assert!(err.message.contains("spec.color: Unsupported value: \"purple\""), "{}", err.message);
        assert!(err.message.contains("spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"), "{}", err.message);
        assert!(err.message.contains("spec.tags: Too many: 4: must have at most 3 items"), "{}", err.message);

        let mut missing = widget("missing", "red", 1);
        missing.data = json!({"spec": {"color": "red"}});
        let err = api_err(api.create(&PostParams::default(), &missing).await.expect_err("required"));
        assert_eq!(err.message, "Widget.example.test \"missing\" is invalid: spec.size: Required value");

        let mut typed = widget("typed", "red", 1);
        typed.data["spec"]["size"] = json!("big");
        let err = api_err(api.create(&PostParams::default(), &typed).await.expect_err("type"));
        assert!(err.message.contains("spec.size in body must be of type integer: \"string\""), "{}", err.message);

        // CEL rule with a default-derived value, and a transition rule on oldSelf.
        let err = api_err(api.create(&PostParams::default(), &widget("big", "red", 11)).await.expect_err("cel"));
        assert!(err.message.contains("spec: Invalid value: \"object\": size must not exceed maxSize"), "{}", err.message);
        let mut w = widget("imm", "red", 1);
        w.data["spec"]["immutableId"] = json!("one");
        api.create(&PostParams::default(), &w).await.expect("create");
        let err = api_err(api.patch("imm", &PatchParams::default(), &Patch::Merge(json!({"spec": {"immutableId": "two"}}))).await.expect_err("transition"));
        assert!(err.message.contains("spec.immutableId: Invalid value: \"string\": immutableId is immutable"), "{}", err.message);
        // Unknown fields are pruned unless strict.
        let mut unk = widget("unk", "red", 1);
        unk.data["spec"]["bogus"] = json!(1);
        let created = api.create(&PostParams::default(), &unk).await.expect("pruned");
        assert!(created.data["spec"].get("bogus").is_none());
    })
    .await;
}

#[tokio::test]
async fn error_status_shapes_over_http() {
    bounded(async {
        let (sb, _client) = with_widgets().await;
        let base = "/apis/example.test/v1/namespaces/default/widgets";
        let (code, body) = http(&sb, "GET", &format!("{base}/nope"), "application/json", "").await;
        assert_eq!(code, 404);
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["status"], "Failure");
        assert_eq!(body["reason"], "NotFound");
        assert_eq!(body["details"], json!({"name": "nope", "group": "example.test", "kind": "widgets"}));
        let (code, body) = http(&sb, "POST", &format!("{base}/nope"), "application/json", "{}").await;
        assert_eq!((code, body["reason"].as_str()), (405, Some("MethodNotAllowed")));
        let (code, body) = http(&sb, "PATCH", &format!("{base}/nope"), "text/plain", "{}").await;
        assert_eq!((code, body["reason"].as_str()), (415, Some("UnsupportedMediaType")));
        let (code, body) = http(&sb, "POST", base, "application/json", "not json").await;
        assert_eq!((code, body["reason"].as_str()), (400, Some("BadRequest")));
        let w = json!({"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": "x"}, "spec": {"color": "red"}});
        let (code, body) = http(&sb, "POST", base, "application/json", &w.to_string()).await;
        assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
        assert_eq!(body["details"]["causes"][0], json!({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"}));
        assert_eq!(body["details"]["kind"], "Widget");
        let (code, _) = http(&sb, "GET", "/apis/example.test/v1/namespaces/default/gadgets", "application/json", "").await;
        assert_eq!(code, 404);
    })
    .await;
}

#[tokio::test]
async fn json_patch_merge_patch_and_ssa_conditions() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        api.create(&PostParams::default(), &widget("w", "red", 1)).await.expect("create");
        let jp: json_patch::Patch = serde_json::from_value(json!([
            {"op": "test", "path": "/spec/size", "value": 1},
            {"op": "replace", "path": "/spec/size", "value": 2}
        ])).expect("patch");
        let w = api.patch("w", &PatchParams::default(), &Patch::<()>::Json(jp)).await.expect("json patch");
        assert_eq!(w.data["spec"]["size"], json!(2));
        let failing: json_patch::Patch = serde_json::from_value(json!([{"op": "test", "path": "/spec/size", "value": 7}])).expect("patch");
        assert_eq!(api_err(api.patch("w", &PatchParams::default(), &Patch::<()>::Json(failing)).await.expect_err("test op")).code, 422);

        let ssa = PatchParams::apply("ctl").force();
        let status = |conds: serde_json::Value| json!({"apiVersion": "example.test/v1", "kind": "Widget", "status": {"conditions": conds}});
        api.patch_status("w", &PatchParams::apply("other"), &Patch::Apply(status(json!([{"type": "Synced", "status": "True"}])))).await.expect("apply other");
        api.patch_status("w", &ssa, &Patch::Apply(status(json!([{"type": "Ready", "status": "False"}])))).await.expect("apply 1");
        let w = api.patch_status("w", &ssa, &Patch::Apply(status(json!([{"type": "Ready", "status": "True"}])))).await.expect("apply 2");
        let conds = w.data["status"]["conditions"].as_array().cloned().expect("conditions");
        assert_eq!(conds.len(), 2, "{conds:?}");
        assert!(conds.contains(&json!({"type": "Ready", "status": "True"})));
        assert!(conds.contains(&json!({"type": "Synced", "status": "True"})));
        let managers: Vec<String> = w.metadata.managed_fields.unwrap_or_default().into_iter().filter_map(|m| m.manager).collect();
        assert!(managers.contains(&"ctl".to_string()) && managers.contains(&"other".to_string()), "{managers:?}");
        // SSA on the main resource creates, then removes fields the manager stopped applying.
        let cfg = |spec: serde_json::Value| json!({"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": "s"}, "spec": spec});
        let s = api.patch("s", &ssa, &Patch::Apply(cfg(json!({"color": "red", "size": 1, "host": "h"})))).await.expect("ssa create");
        assert_eq!(s.metadata.generation, Some(1));
        let s = api.patch("s", &ssa, &Patch::Apply(cfg(json!({"color": "blue", "size": 1})))).await.expect("ssa update");
        assert_eq!(s.data["spec"]["color"], json!("blue"));
        assert!(s.data["spec"].get("host").is_none(), "removed field");
        assert_eq!(s.metadata.generation, Some(2));
    })
    .await;
}

#[tokio::test]
async fn finalizers_delay_deletion() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut w = widget("f", "red", 1);
        w.metadata.finalizers = Some(vec!["example.test/cleanup".into()]);
        api.create(&PostParams::default(), &w)
            .await
            .expect("create");
        api.delete("f", &DeleteParams::default())
            .await
            .expect("delete");
        let got = api.get("f").await.expect("still there");
        assert!(got.metadata.deletion_timestamp.is_some());
        assert_eq!(got.metadata.generation, Some(2));
        let err = api_err(
            api.patch(
                "f",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": ["example.test/cleanup", "new"]}})),
            )
            .await
            .expect_err("no new finalizers"),
        );
        assert_eq!(err.code, 422);
        api.patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("remove finalizer");
        assert_eq!(api_err(api.get("f").await.expect_err("deleted")).code, 404);
    })
    .await;
}

#[tokio::test]
async fn discovery_lists_crds_and_builtins() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let discovery = kube::Discovery::new(client.clone())
            .run()
            .await
            .expect("discovery");
        let (ar, caps) = discovery
            .resolve_gvk(&kube::core::GroupVersionKind::gvk(
                "example.test",
                "v1",
                "Widget",
            ))
            .expect("widget discovered");
        assert_eq!(ar.plural, "widgets");
        assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
        assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));
        for gvk in [
            ("", "v1", "Secret"),
            ("apps", "v1", "Deployment"),
            ("coordination.k8s.io", "v1", "Lease"),
            ("events.k8s.io", "v1", "Event"),
            ("policy", "v1", "PodDisruptionBudget"),
        ] {
            assert!(
                discovery
                    .resolve_gvk(&kube::core::GroupVersionKind::gvk(gvk.0, gvk.1, gvk.2))
                    .is_some(),
                "{gvk:?}"
            );
        }
        let v = client.apiserver_version().await.expect("version");
        assert_eq!(v.major, "1");
    })
    .await;
}
