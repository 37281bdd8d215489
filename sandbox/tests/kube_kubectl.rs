//! The real `kubectl` binary against the sandbox (every invocation is time-bounded).

mod kube_common;

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube_common::*;
use sandbox::kube::KubeSandbox;
use serde_json::json;

async fn setup_crd(sb: &KubeSandbox) {
    let crd = fixture("widget-crd.yaml");
    let r = kubectl(sb, &["apply", "-f", crd.to_str().expect("path")]).await;
    assert!(
        r.ok && r
            .stdout
            .contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.test created"),
        "{r:?}"
    );
    let r = kubectl(
        sb,
        &[
            "wait",
            "--for",
            "condition=established",
            "--timeout=10s",
            "crd/widgets.example.test",
        ],
    )
    .await;
    assert!(r.ok && r.stdout.contains("condition met"), "{r:?}");
}

fn widget_yaml(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: example.test/v1\nkind: Widget\nmetadata:\n  name: {name}\n  labels:\n    app: demo\nspec:\n  color: red\n  size: 3\n{extra_spec}"
    )
}

#[tokio::test]
async fn kubectl_client_side_apply_get_with_printer_columns() {
    bounded(async {
        let sb = start().await;
        setup_crd(&sb).await;
        let w1 = fixture("widget-w1.yaml");
        let r = kubectl(&sb, &["apply", "-f", w1.to_str().expect("path")]).await;
        assert!(
            r.ok && r.stdout.contains("widget.example.test/w1 created"),
            "{r:?}"
        );
        let r = kubectl(&sb, &["get", "widgets"]).await;
        assert!(r.ok, "{r:?}");
        let header: Vec<&str> = r
            .stdout
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        assert_eq!(header, vec!["NAME", "COLOR", "SIZE", "READY", "AGE"]);
        let row: Vec<&str> = r
            .stdout
            .lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .collect();
        assert_eq!(&row[..3], &["w1", "red", "3"], "{row:?}");
        assert!(row[3].ends_with('s'), "age column: {row:?}");

        let r = kubectl(&sb, &["get", "wdg", "w1", "-o", "yaml"]).await;
        assert!(
            r.ok && r.stdout.contains("generation: 1") && r.stdout.contains("maxSize: 10"),
            "{r:?}"
        );
        let r = kubectl_in(
            &sb,
            &["apply", "-f", "-"],
            Some(&widget_yaml("w1", "  maxSize: 20\n")),
        )
        .await;
        assert!(r.ok && r.stdout.contains("configured"), "{r:?}");
        let r = kubectl(
            &sb,
            &[
                "get",
                "widget",
                "w1",
                "-o",
                "jsonpath={.metadata.generation}/{.spec.maxSize}",
            ],
        )
        .await;
        assert_eq!(r.stdout, "2/20");
        let r = kubectl_in(
            &sb,
            &["apply", "-f", "-"],
            Some(&widget_yaml("w1", "  maxSize: 20\n")),
        )
        .await;
        assert!(r.ok && r.stdout.contains("unchanged"), "{r:?}");
        // Label selectors and all-namespaces listing.
        let r = kubectl(
            &sb,
            &["get", "widgets", "-A", "-l", "app=demo", "-o", "name"],
        )
        .await;
        assert_eq!(r.stdout.trim(), "widget.example.test/w1");
        let r = kubectl(&sb, &["get", "widgets", "-l", "app=other"]).await;
        assert!(
            r.ok && r
                .stderr
                .contains("No resources found in default namespace."),
            "{r:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn kubectl_server_side_apply() {
    bounded(async {
        let sb = start().await;
        let crd = fixture("widget-crd.yaml");
        let r = kubectl(&sb, &["apply", "--server-side", "-f", crd.to_str().expect("path")]).await;
        assert!(r.ok && r.stdout.contains("serverside-applied"), "{r:?}");
        let r = kubectl(&sb, &["wait", "--for", "condition=established", "--timeout=10s", "crd/widgets.example.test"]).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl_in(&sb, &["apply", "--server-side", "-f", "-"], Some(&widget_yaml("s1", "  host: example.com\n"))).await;
        assert!(r.ok && r.stdout.contains("widget.example.test/s1 serverside-applied"), "{r:?}");
        let r = kubectl(&sb, &["get", "widget", "s1", "-o", "jsonpath={.metadata.managedFields[0].manager}/{.metadata.managedFields[0].operation}"]).await;
        assert_eq!(r.stdout, "kubectl/Apply");
        // Dropping a field from the applied configuration removes it.
        let r = kubectl_in(&sb, &["apply", "--server-side", "-f", "-"], Some(&widget_yaml("s1", "  size: 4\n").replace("  size: 3\n", ""))).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["get", "widget", "s1", "-o", "jsonpath={.spec.size}/{.spec.host}/{.metadata.generation}"]).await;
        assert_eq!(r.stdout, "4//2");
        // Server-side dry run.
        let r = kubectl_in(&sb, &["apply", "--server-side", "--dry-run=server", "-f", "-"], Some(&widget_yaml("dry", ""))).await;
        assert!(r.ok && r.stdout.contains("(server dry run)"), "{r:?}");
        let r = kubectl(&sb, &["get", "widget", "dry"]).await;
        assert!(!r.ok && r.stderr.contains("NotFound"), "{r:?}");
    })
    .await;
}

#[tokio::test]
async fn kubectl_prints_schema_and_cel_rejections() {
    bounded(async {
        let sb = start().await;
        setup_crd(&sb).await;
        let bad = "apiVersion: example.test/v1\nkind: Widget\nmetadata:\n  name: bad\nspec:\n  color: purple\n  size: 3\n  host: BAD_HOST\n";
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(bad)).await;
        assert!(!r.ok, "{r:?}");
        assert!(r.stderr.contains("The Widget \"bad\" is invalid:"), "{r:?}");
        assert!(r.stderr.contains("spec.color: Unsupported value: \"purple\": supported values: \"red\", \"green\", \"blue\""), "{r:?}");
        assert!(r.stderr.contains("spec.host: Invalid value: \"BAD_HOST\": spec.host in body should match '^[a-z0-9.-]+$'"), "{r:?}");
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(&widget_yaml("unk", "  bogus: 1\n"))).await;
        assert!(!r.ok && r.stderr.contains("strict decoding error: unknown field \"spec.bogus\""), "{r:?}");
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(&widget_yaml("cel", "  maxSize: 2\n"))).await;
        assert!(!r.ok && r.stderr.contains("The Widget \"cel\" is invalid: spec: Invalid value: \"object\": size must not exceed maxSize"), "{r:?}");
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(&widget_yaml("imm", "  immutableId: a\n"))).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(&widget_yaml("imm", "  immutableId: b\n"))).await;
        assert!(!r.ok && r.stderr.contains("spec.immutableId: Invalid value: \"string\": immutableId is immutable"), "{r:?}");
    })
    .await;
}

#[tokio::test]
async fn kubectl_explain_and_describe() {
    bounded(async {
        let sb = start().await;
        setup_crd(&sb).await;
        let r = kubectl(&sb, &["explain", "widget.spec"]).await;
        assert!(r.ok, "{r:?}");
        for needle in [
            "KIND:       Widget",
            "WidgetSpec is the desired state of a Widget.",
            "color\t<string> -required-",
            "enum: red, green, blue",
            "Size of the widget in units.",
        ] {
            assert!(
                r.stdout.contains(needle),
                "missing {needle:?} in {}",
                r.stdout
            );
        }
        let r = kubectl(&sb, &["explain", "wdg.spec.maxSize"]).await;
        assert!(r.ok && r.stdout.contains("Largest allowed size."), "{r:?}");
        let w1 = fixture("widget-w1.yaml");
        assert!(
            kubectl(&sb, &["apply", "-f", w1.to_str().expect("path")])
                .await
                .ok
        );
        let r = kubectl(&sb, &["describe", "widget", "w1"]).await;
        assert!(r.ok, "{r:?}");
        for needle in [
            "Name:         w1",
            "Namespace:    default",
            "Labels:       app=demo",
            "Kind:         Widget",
            "Spec:",
            "Max Size:  10",
        ] {
            assert!(
                r.stdout.contains(needle),
                "missing {needle:?} in {}",
                r.stdout
            );
        }
    })
    .await;
}

#[tokio::test]
async fn kubectl_wait_for_condition_ready() {
    bounded(async {
        let sb = start().await;
        setup_crd(&sb).await;
        let w1 = fixture("widget-w1.yaml");
        assert!(kubectl(&sb, &["apply", "-f", w1.to_str().expect("path")]).await.ok);
        let r = kubectl(&sb, &["wait", "--for=condition=Ready", "widget/w1", "--timeout=3s"]).await;
        assert!(!r.ok && r.stderr.contains("timed out waiting for the condition"), "{r:?}");

        let client = sb.client().await.expect("client");
        let api = widgets(&client, "default");
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let status = json!({"apiVersion": "example.test/v1", "kind": "Widget",
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Done", "message": "ok",
                    "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
            api.patch_status("w1", &PatchParams::apply("test"), &Patch::Apply(status)).await.expect("status")
        });
        let r = kubectl(&sb, &["wait", "--for=condition=Ready", "widget/w1", "--timeout=20s"]).await;
        writer.await.expect("writer");
        assert!(r.ok && r.stdout.contains("widget.example.test/w1 condition met"), "{r:?}");
        let r = kubectl(&sb, &["get", "widget", "w1", "--no-headers"]).await;
        let row: Vec<&str> = r.stdout.split_whitespace().collect();
        assert_eq!(row.get(3), Some(&"True"), "READY column: {row:?}");
    })
    .await;
}

#[tokio::test]
async fn kubectl_delete_honours_finalizers() {
    bounded(async {
        let sb = start().await;
        setup_crd(&sb).await;
        let yaml = widget_yaml("fin", "").replace(
            "  labels:\n",
            "  finalizers:\n  - example.test/cleanup\n  labels:\n",
        );
        assert!(kubectl_in(&sb, &["apply", "-f", "-"], Some(&yaml)).await.ok);
        let r = kubectl(&sb, &["delete", "widget", "fin", "--wait=false"]).await;
        assert!(
            r.ok && r.stdout.contains("widget.example.test \"fin\" deleted"),
            "{r:?}"
        );
        let r = kubectl(
            &sb,
            &[
                "get",
                "widget",
                "fin",
                "-o",
                "jsonpath={.metadata.deletionTimestamp}",
            ],
        )
        .await;
        assert!(r.ok && r.stdout.ends_with('Z'), "{r:?}");
        let r = kubectl(
            &sb,
            &[
                "patch",
                "widget",
                "fin",
                "--type=json",
                "-p",
                r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
            ],
        )
        .await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["get", "widget", "fin"]).await;
        assert!(
            !r.ok && r.stderr.contains("widgets.example.test \"fin\" not found"),
            "{r:?}"
        );
        // Without finalizers, a waiting delete returns once the object is gone.
        assert!(
            kubectl_in(&sb, &["apply", "-f", "-"], Some(&widget_yaml("plain", "")))
                .await
                .ok
        );
        let r = kubectl(&sb, &["delete", "widget", "plain", "--timeout=10s"]).await;
        assert!(r.ok, "{r:?}");
        assert!(!kubectl(&sb, &["get", "widget", "plain"]).await.ok);
    })
    .await;
}
