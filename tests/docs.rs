//! Generated docs are current: `docs/reference.md` (every CRD field) and `docs/conditions.md`
//! (every reason with what to do), and the README points at them.

use stytch_saml_operator::docs::{conditions_reference, field_reference};
use stytch_saml_operator::reconcile::Reason;

fn committed(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default()
}

#[test]
fn field_reference_is_current_and_complete() {
    let generated = field_reference();
    assert!(
        committed("docs/reference.md") == generated,
        "docs/reference.md is stale: run `cargo run -- docs reference > docs/reference.md`"
    );
    for field in [
        "spec.idp.metadataUrl",
        "spec.idp.certificates[].secretKeyRef.key",
        "spec.signingPrivateKeyRef",
        "status.conditions",
        "status.signingCertificates[].pem",
        "status.lastHandledReconcileAt",
    ] {
        assert!(generated.contains(&format!("`{field}`")), "{field} missing");
    }
    assert!(
        generated.contains("organizationId is immutable"),
        "CEL rules listed"
    );
}

#[test]
fn conditions_reference_is_current_and_names_every_reason() {
    let generated = conditions_reference();
    assert!(
        committed("docs/conditions.md") == generated,
        "docs/conditions.md is stale: run `cargo run -- docs conditions > docs/conditions.md`"
    );
    for reason in Reason::ALL {
        assert!(
            generated.contains(&format!("| `{}` |", reason.as_str())),
            "{reason} missing"
        );
        assert!(reason.help().len() > 10, "{reason} has no real help text");
    }
}

#[test]
fn readme_links_the_docs() {
    let readme = committed("README.md");
    for doc in ["docs/reference.md", "docs/conditions.md", "docs/guide.md"] {
        assert!(readme.contains(doc), "README does not link {doc}");
        assert!(!committed(doc).is_empty(), "{doc} missing");
    }
}
