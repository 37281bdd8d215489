//! The CRD contract: the committed YAML is current, and every OpenAPI/CEL rule accepts the
//! examples and rejects a bad case (rules evaluated with kube-cel, schema with jsonschema).

use serde_json::{Value, json};
use stytch_saml_operator::api::{SamlConnection, crd_yaml};

const COMMITTED: &str = include_str!("../crds/samlconnection.yaml");

#[test]
fn committed_crd_is_current() {
    let generated = crd_yaml().unwrap();
    assert!(
        generated == COMMITTED,
        "crds/samlconnection.yaml is stale: run `cargo run -- crd > crds/samlconnection.yaml`"
    );
}

fn schema() -> Value {
    let crd: Value = serde_saphyr::from_str(COMMITTED).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Every SamlConnection document in examples/.
fn examples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_saphyr::from_multiple::<Value>(&text).unwrap() {
            if doc["kind"] == "SamlConnection" {
                out.push((path.display().to_string(), doc));
            }
        }
    }
    out
}

/// Errors from the OpenAPI schema and the CEL rules (with `old` for transition rules).
fn errors(object: &Value, old: Option<&Value>) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut out: Vec<String> = validator
        .iter_errors(object)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if let Err(errs) = kube_cel::Validator::new().validate(&schema, object, old) {
        out.extend(errs.iter().map(|e| e.to_string()));
    }
    out
}

#[test]
fn every_example_is_accepted_and_deserializes() {
    let examples = examples();
    assert!(
        examples.len() >= 7,
        "examples/ should hold the documented examples"
    );
    for (path, doc) in examples {
        assert_eq!(errors(&doc, None), Vec::<String>::new(), "{path}");
        assert_eq!(
            errors(&doc, Some(&doc)),
            Vec::<String>::new(),
            "{path} (update)"
        );
        let typed: SamlConnection = serde_json::from_value(doc).unwrap();
        assert!(!typed.spec.organization_id.is_empty());
    }
}

fn base() -> Value {
    examples()
        .into_iter()
        .find(|(p, _)| p.contains("okta-explicit"))
        .unwrap()
        .1
}

fn with(patch: Value) -> Value {
    let mut doc = base();
    merge(&mut doc["spec"], patch);
    doc
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

#[test]
fn each_rule_rejects_a_bad_case() {
    let pem = base()["spec"]["idp"]["certificates"][0]["pem"].clone();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "metadataUrl with explicit fields",
            json!({"idp": {"metadataUrl": "https://idp.example.com/m"}}),
            "metadataUrl excludes",
        ),
        (
            "certificate with two sources",
            json!({"idp": {"certificates": [{"pem": pem, "secretKeyRef": {"name": "s", "key": "k"}}]}}),
            "exactly one of pem",
        ),
        (
            "certificate with no source",
            json!({"idp": {"certificates": [{}]}}),
            "exactly one of pem",
        ),
        (
            "http SSO URL",
            json!({"idp": {"ssoUrl": "http://acme.okta.com/sso"}}),
            "/spec/idp/ssoUrl",
        ),
        (
            "http metadata URL",
            json!({"idp": {"metadataUrl": "http://idp.example.com/m", "entityId": null, "ssoUrl": null, "certificates": null}}),
            "/spec/idp/metadataUrl",
        ),
        (
            "no name mapping",
            json!({"attributeMapping": {"firstName": null}}),
            "needs fullName",
        ),
        (
            "no email mapping",
            json!({"attributeMapping": {"email": null}}),
            "email",
        ),
        (
            "additional repeats a named key",
            json!({"attributeMapping": {"additional": {"email": "x"}}}),
            "must not repeat",
        ),
        (
            "additional value not flat",
            json!({"attributeMapping": {"additional": {"address": {"city": "c"}}}}),
            "/spec/attributeMapping/additional/address",
        ),
        (
            "group roles without groups mapping",
            json!({"groupRoleAssignments": [{"group": "g", "roleId": "r"}]}),
            "need attributeMapping.groups",
        ),
        (
            "six certificates",
            json!({"idp": {"certificates": vec![json!({"pem": pem}); 6]}}),
            "/spec/idp/certificates",
        ),
        (
            "zero certificates",
            json!({"idp": {"certificates": []}}),
            "/spec/idp/certificates",
        ),
        (
            "unknown identity provider",
            json!({"identityProvider": "azure"}),
            "/spec/identityProvider",
        ),
        (
            "unknown deletion policy",
            json!({"deletionPolicy": "Keep"}),
            "/spec/deletionPolicy",
        ),
        (
            "unknown management policy",
            json!({"managementPolicy": "ReadOnly"}),
            "/spec/managementPolicy",
        ),
        (
            "missing credentialsRef",
            json!({"credentialsRef": null}),
            "credentialsRef",
        ),
        (
            "empty organizationId",
            json!({"organizationId": ""}),
            "/spec/organizationId",
        ),
        (
            "empty role id",
            json!({"roleAssignments": [{"roleId": ""}]}),
            "/spec/roleAssignments/0/roleId",
        ),
        (
            "huge display name",
            json!({"displayName": "x".repeat(300)}),
            "/spec/displayName",
        ),
    ];
    for (name, patch, expected) in cases {
        let errs = errors(&with(patch), None);
        assert!(
            errs.iter().any(|e| e.contains(expected)),
            "{name}: expected `{expected}` in {errs:#?}"
        );
    }
}

#[test]
fn transition_rules_keep_ids_immutable() {
    let old = with(json!({"connectionId": "saml-connection-test-1"}));
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        (
            "organizationId changed",
            json!({"organizationId": "other"}),
            Some("organizationId is immutable"),
        ),
        (
            "connectionId changed",
            json!({"connectionId": "saml-connection-test-2"}),
            Some("connectionId is immutable"),
        ),
        (
            "connectionId removed",
            json!({"connectionId": null}),
            Some("connectionId is immutable"),
        ),
        (
            "other fields changed",
            json!({"displayName": "renamed"}),
            None,
        ),
    ];
    for (name, patch, expected) in cases {
        let mut new = old.clone();
        merge(&mut new["spec"], patch);
        let errs = errors(&new, Some(&old));
        match expected {
            Some(text) => assert!(errs.iter().any(|e| e.contains(text)), "{name}: {errs:#?}"),
            None => assert!(errs.is_empty(), "{name}: {errs:#?}"),
        }
    }
    // Setting connectionId on a resource that had none is allowed (adoption).
    let unset = base();
    assert!(errors(&old, Some(&unset)).is_empty());
}

#[test]
fn crd_has_the_documented_names_columns_and_status_subresource() {
    let crd: Value = serde_saphyr::from_str(COMMITTED).unwrap();
    assert_eq!(crd["spec"]["group"], "sso.stytch-operator.dev");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["samlconn"]));
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "Org",
            "Connection",
            "IdP",
            "Status",
            "Ready",
            "Cert-Expiry",
            "Age"
        ]
    );
    let conditions =
        &version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["x-kubernetes-list-type"], "map");
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
    // Every spec field carries a description for `kubectl explain`.
    fn described(schema: &Value, path: &str) {
        if let Some(props) = schema["properties"].as_object() {
            for (name, sub) in props {
                let p = format!("{path}.{name}");
                assert!(
                    sub["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{p} has no description"
                );
                described(sub, &p);
                described(&sub["items"], &format!("{p}[]"));
            }
        }
    }
    described(
        &version["schema"]["openAPIV3Schema"]["properties"]["spec"],
        "spec",
    );
}
