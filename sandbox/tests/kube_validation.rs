//! kube-rs and raw HTTP against the sandbox: schema/CEL validation and error `Status` shapes.

mod kube_common;

use kube::api::{Patch, PatchParams, PostParams};
use kube_common::*;
use serde_json::json;

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected API error, got {other:?}"),
    }
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
async fn list_map_keys_must_be_unique_and_status_is_validated() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        api.create(&PostParams::default(), &widget("w", "red", 1))
            .await
            .expect("create");
        let dup = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True"}, {"type": "Ready", "status": "False"}]}});
        let err = api_err(
            api.patch_status("w", &PatchParams::default(), &Patch::Merge(dup))
                .await
                .expect_err("duplicate"),
        );
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .contains("status.conditions[1]: Duplicate value: {\"type\":\"Ready\"}"),
            "{}",
            err.message
        );
        let missing = json!({"status": {"conditions": [{"type": "Ready"}]}});
        let err = api_err(
            api.patch_status("w", &PatchParams::default(), &Patch::Merge(missing))
                .await
                .expect_err("required"),
        );
        assert!(
            err.message
                .contains("status.conditions[0].status: Required value"),
            "{}",
            err.message
        );
    })
    .await;
}
