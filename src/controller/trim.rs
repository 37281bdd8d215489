//! What the controller's cache keeps of a watched `SamlConnection`.
//!
//! Every watched object stays in memory for the life of the process, so the cache keeps only
//! what a reconcile reads. Dropped: `metadata.managedFields` (status is written with
//! server-side apply, which needs no local copy), `kubectl`'s last-applied-configuration
//! annotation (a second copy of the spec), and the signing certificates' PEM in the status
//! (about 1.1 KiB each), which is replaced by an empty string: "present, not cached". Status
//! changes compare a certificate's id and fingerprint and whether it has a PEM, not the PEM
//! itself (see [`crate::reconcile::status::changed`]); a status that carries certificates over
//! without reading Stytch drops PEMs it does not know (see [`crate::reconcile::status::compute`]).

use kube::ResourceExt;

use crate::api::SamlConnection;

/// The annotation `kubectl apply` (client-side) keeps the whole applied object in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Trims a watched object to what the controller reads.
pub fn for_cache(obj: &mut SamlConnection) {
    obj.managed_fields_mut().clear();
    obj.annotations_mut().remove(LAST_APPLIED_ANNOTATION);
    if let Some(status) = obj.status.as_mut() {
        for cert in &mut status.signing_certificates {
            if let Some(pem) = cert.pem.as_mut() {
                *pem = String::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::reconcile::status::changed;

    fn object() -> SamlConnection {
        serde_json::from_value(json!({
            "apiVersion": "sso.stytch-operator.dev/v1alpha1",
            "kind": "SamlConnection",
            "metadata": {
                "name": "acme", "namespace": "default", "generation": 2,
                "annotations": {
                    LAST_APPLIED_ANNOTATION: "{\"spec\":{}}",
                    "sso.stytch-operator.dev/connection-id": "saml-connection-test-1",
                },
                "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {
                "organizationId": "organization-test-1",
                "credentialsRef": {"name": "stytch-credentials"},
            },
            "status": {
                "observedGeneration": 2,
                "signingCertificates": [{"id": "cert-1", "sha256Fingerprint": "aa:bb", "pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}],
                "verificationCertificates": [{"id": "cert-2", "sha256Fingerprint": "cc:dd"}],
            },
        }))
        .expect("object")
    }

    #[test]
    fn drops_what_no_reconcile_reads_and_keeps_the_rest() {
        let mut obj = object();
        for_cache(&mut obj);
        assert!(obj.managed_fields().is_empty());
        assert!(!obj.annotations().contains_key(LAST_APPLIED_ANNOTATION));
        assert_eq!(
            obj.annotations()
                .get("sso.stytch-operator.dev/connection-id")
                .map(String::as_str),
            Some("saml-connection-test-1")
        );
        let status = obj.status.as_ref().expect("status");
        assert_eq!(status.signing_certificates[0].pem.as_deref(), Some(""));
        assert_eq!(status.signing_certificates[0].sha256_fingerprint, "aa:bb");
        assert_eq!(status.verification_certificates[0].id, "cert-2");
        assert_eq!(status.observed_generation, Some(2));
    }

    #[test]
    fn a_trimmed_status_is_not_seen_as_changed_but_a_new_certificate_is() {
        let full = object().status.expect("status");
        let mut trimmed = object();
        for_cache(&mut trimmed);
        let trimmed = trimmed.status.expect("status");
        assert!(!changed(Some(&trimmed), &full));
        let mut rotated = full.clone();
        rotated.signing_certificates[0].sha256_fingerprint = "ee:ff".into();
        assert!(changed(Some(&trimmed), &rotated));
        // A status without the PEM (written while Stytch could not be read) is rewritten.
        let mut without = full.clone();
        without.signing_certificates[0].pem = None;
        assert!(changed(Some(&without), &full));
    }
}
