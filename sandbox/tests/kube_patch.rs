//! kube-rs against the sandbox: JSON / merge patches, server-side apply, finalizers.

mod kube_common;

use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube_common::*;
use serde_json::json;

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected API error, got {other:?}"),
    }
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
async fn server_side_apply_conflicts_between_managers() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let cfg = |color: &str| json!({"apiVersion": "example.test/v1", "kind": "Widget", "metadata": {"name": "c"}, "spec": {"color": color, "size": 1}});
        api.patch("c", &PatchParams::apply("alice"), &Patch::Apply(cfg("red"))).await.expect("alice");
        // Re-applying the same configuration is a no-op (no new resourceVersion).
        let a1 = api.patch("c", &PatchParams::apply("alice"), &Patch::Apply(cfg("red"))).await.expect("again");
        // (managedFields times have second precision: cross a second boundary.)
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let a2 = api.patch("c", &PatchParams::apply("alice"), &Patch::Apply(cfg("red"))).await.expect("again");
        assert_eq!(rv(&a1), rv(&a2));
        // Same values: shared ownership, no conflict.
        api.patch("c", &PatchParams::apply("bob"), &Patch::Apply(cfg("red"))).await.expect("bob shares");
        let err = api_err(api.patch("c", &PatchParams::apply("bob"), &Patch::Apply(cfg("blue"))).await.expect_err("conflict"));
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert!(err.message.starts_with("Apply failed with 1 conflict: conflict with \"alice\" using example.test/v1: .spec.color"), "{}", err.message);
        let w = api.patch("c", &PatchParams::apply("bob").force(), &Patch::Apply(cfg("blue"))).await.expect("forced");
        assert_eq!(w.data["spec"]["color"], json!("blue"));
        // Ownership moved: alice re-applying red now conflicts with bob.
        let err = api_err(api.patch("c", &PatchParams::apply("alice"), &Patch::Apply(cfg("red"))).await.expect_err("conflict"));
        assert!(err.message.contains("conflict with \"bob\""), "{}", err.message);
        // kubectl reports the conflict and resolves it with --force-conflicts.
        let yaml = "apiVersion: example.test/v1\nkind: Widget\nmetadata:\n  name: c\nspec:\n  color: green\n  size: 1\n";
        let r = kubectl_in(&sb, &["apply", "--server-side", "-f", "-"], Some(yaml)).await;
        assert!(!r.ok && r.stderr.contains("Apply failed with 1 conflict: conflict with \"bob\""), "{r:?}");
        let r = kubectl_in(&sb, &["apply", "--server-side", "--force-conflicts", "-f", "-"], Some(yaml)).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(api.get("c").await.expect("get").data["spec"]["color"], json!("green"));
    })
    .await;
}
