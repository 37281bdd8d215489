//! The admission half of the hostile-input table: specs the API server must refuse (OpenAPI
//! schema and CEL rules of the CRD), each with the text the refusal must contain.

use serde_json::{Value, json};

use super::hostile_cases::*;
use super::probe::fixture;
use crate::support::cert;

/// Cases refused by `kubectl apply`. The two immutability cases need [`GOOD_FIRST`] and
/// [`ADOPT_MISSING`] to exist.
pub fn admission_cases() -> Vec<Case> {
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"pem": cert(&format!("six{i}"))}))
        .collect();
    let mut org_changed = spec(GOOD_FIRST, json!({"organizationId": "another-org"}));
    org_changed["displayName"] = json!("Good first");
    let adopt = |patch: Value| {
        let mut s = spec(ADOPT_MISSING, json!({"connectionId": UNKNOWN_CONNECTION}));
        merge(&mut s, patch);
        s
    };
    vec![
        admission(
            "sso-url-http",
            json!({"idp": {"ssoUrl": "http://acme.okta.com/sso"}}),
            "spec.idp.ssoUrl",
        ),
        admission(
            "sso-url-not-a-url",
            json!({"idp": {"ssoUrl": "acme.okta.com/sso"}}),
            "spec.idp.ssoUrl",
        ),
        admission(
            "sso-url-javascript",
            json!({"idp": {"ssoUrl": "javascript:alert(1)"}}),
            "spec.idp.ssoUrl",
        ),
        admission(
            "metadata-url-http",
            metadata("http://idp.example.com/metadata".into()),
            "spec.idp.metadataUrl",
        ),
        admission(
            "metadata-url-file",
            metadata("file:///etc/passwd".into()),
            "spec.idp.metadataUrl",
        ),
        admission(
            "six-certificates",
            json!({"idp": {"certificates": six}}),
            "spec.idp.certificates",
        ),
        admission(
            "no-certificates",
            json!({"idp": {"certificates": []}}),
            "spec.idp.certificates",
        ),
        admission(
            "identity-provider-unknown",
            json!({"identityProvider": "azure-ad"}),
            "spec.identityProvider",
        ),
        admission(
            "display-name-huge",
            json!({"displayName": "x".repeat(10_000)}),
            "spec.displayName",
        ),
        admission(
            "display-name-257",
            json!({"displayName": "é".repeat(257)}),
            "spec.displayName",
        ),
        admission(
            "organization-id-empty",
            json!({"organizationId": ""}),
            "spec.organizationId",
        ),
        update(
            "organization-id-changed",
            ("apply", GOOD_FIRST),
            org_changed,
            "organizationId is immutable",
        ),
        update(
            "connection-id-changed",
            ("apply", ADOPT_MISSING),
            adopt(
                json!({"connectionId": "saml-connection-test-11111111-0000-4000-8000-000000000000"}),
            ),
            "connectionId is immutable",
        ),
        update(
            "connection-id-removed",
            ("replace", ADOPT_MISSING),
            adopt(json!({"connectionId": null})),
            "connectionId is immutable",
        ),
        admission(
            "mapping-nested-object",
            json!({"attributeMapping": {"additional": {"address": {"city": "city"}}}}),
            "spec.attributeMapping.additional",
        ),
        admission(
            "mapping-repeats-email",
            json!({"attributeMapping": {"additional": {"email": "mail"}}}),
            "attributeMapping.additional must not repeat",
        ),
        admission(
            "mapping-without-name",
            json!({"attributeMapping": {"fullName": null}}),
            "attributeMapping needs fullName",
        ),
        admission(
            "group-roles-without-groups",
            json!({"groupRoleAssignments": [{"group": "admins", "roleId": "stytch_admin"}]}),
            "groupRoleAssignments need attributeMapping.groups",
        ),
        admission(
            "metadata-url-with-certificates",
            json!({"idp": {"metadataUrl": "https://idp.example.com/m"}}),
            "idp.metadataUrl excludes",
        ),
        admission(
            "certificate-two-sources",
            json!({"idp": {"certificates": [{"pem": cert("two"), "secretKeyRef": {"name": "hostile-keys", "key": "pkcs1"}}]}}),
            "exactly one of pem",
        ),
        admission(
            "certificate-pem-70kb",
            pem("A".repeat(70_000)),
            "spec.idp.certificates[0].pem",
        ),
        admission(
            "private-key-inline",
            json!({"signingPrivateKey": fixture("rsa-pkcs1-a.pem")}),
            "spec.signingPrivateKey",
        ),
        admission(
            "signing-ref-namespace",
            json!({"signingPrivateKeyRef": {"name": "hostile-keys", "key": "pkcs1", "namespace": OTHER_NS}}),
            "spec.signingPrivateKeyRef.namespace",
        ),
        admission(
            "credentials-ref-namespace",
            json!({"credentialsRef": {"name": "stytch-credentials", "namespace": OTHER_NS}}),
            "spec.credentialsRef.namespace",
        ),
        admission(
            "credentials-ref-missing",
            json!({"credentialsRef": null}),
            "spec.credentialsRef",
        ),
        admission(
            "deletion-policy-unknown",
            json!({"deletionPolicy": "Keep"}),
            "spec.deletionPolicy",
        ),
        admission(
            "management-policy-unknown",
            json!({"managementPolicy": "Sometimes"}),
            "spec.managementPolicy",
        ),
        admission(
            "signing-ref-key-empty",
            signing("hostile-keys", ""),
            "spec.signingPrivateKeyRef.key",
        ),
    ]
}
