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
