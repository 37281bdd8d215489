//! What the controller's cache keeps of a watched `SamlConnection`.
//!
//! Every watched object stays in memory for the life of the process, so the watch deserializes
//! straight into [`CachedConnection`], which keeps only what a reconcile reads:
//! - the metadata without `managedFields` (status is written with server-side apply, which
//!   needs no local copy) and without `kubectl`'s last-applied-configuration annotation (a
//!   second copy of the spec);
//! - the whole spec;
//! - of the status, a [`StatusSummary`]: the few fields a reconcile reads before it computes a
//!   new status, and the digest [`status::changed`] compares. The conditions, certificates and
//!   the rest (most of an object's memory) are not kept. A reconcile whose new status has the
//!   cached digest writes nothing; one whose status changed reads the stored status first, to
//!   carry over what a new status keeps from the old one (transition times, and the live facts
//!   when Stytch could not be read).

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserialize;

use crate::api::{SamlConnection, SamlConnectionSpec, SamlConnectionStatus};
use crate::reconcile::status::{self, StatusDigest};

/// The annotation `kubectl apply` (client-side) keeps the whole applied object in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A `SamlConnection` as the controller caches it (see the module documentation).
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "SamlConnection")]
pub struct CachedConnection {
    pub metadata: ObjectMeta,
    pub spec: SamlConnectionSpec,
    pub status: Option<StatusSummary>,
}

/// What the cache keeps of a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSummary {
    pub observed_generation: Option<i64>,
    pub connection_id: Option<String>,
    pub last_handled_reconcile_at: Option<String>,
    /// The status's [`status::digest`].
    pub digest: Option<StatusDigest>,
}

impl StatusSummary {
    /// Summarizes a full status.
    pub fn of(status: &SamlConnectionStatus) -> Self {
        Self {
            observed_generation: status.observed_generation,
            connection_id: status.connection_id.clone(),
            last_handled_reconcile_at: status.last_handled_reconcile_at.clone(),
            digest: status::digest(status),
        }
    }

    /// The status as far as the summary knows it: what a new status is first computed from.
    pub fn skeleton(&self) -> SamlConnectionStatus {
        SamlConnectionStatus {
            observed_generation: self.observed_generation,
            connection_id: self.connection_id.clone(),
            last_handled_reconcile_at: self.last_handled_reconcile_at.clone(),
            ..SamlConnectionStatus::default()
        }
    }
}

impl From<SamlConnection> for CachedConnection {
    fn from(obj: SamlConnection) -> Self {
        let SamlConnection {
            mut metadata,
            spec,
            status,
        } = obj;
        metadata.managed_fields = None;
        if let Some(annotations) = metadata.annotations.as_mut() {
            annotations.remove(LAST_APPLIED_ANNOTATION);
            if annotations.is_empty() {
                metadata.annotations = None;
            }
        }
        Self {
            metadata,
            spec,
            status: status.as_ref().map(StatusSummary::of),
        }
    }
}

impl Resource for CachedConnection {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        SamlConnection::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        SamlConnection::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        SamlConnection::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        SamlConnection::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use kube::ResourceExt;
    use serde_json::{Value, json};

    use super::*;
    use crate::reconcile::status::changed;

    fn object() -> Value {
        json!({
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
                "connectionId": "saml-connection-test-1",
                "lastHandledReconcileAt": "now",
                "signingCertificates": [{"id": "cert-1", "sha256Fingerprint": "aa:bb", "pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}],
                "verificationCertificates": [{"id": "cert-2", "sha256Fingerprint": "cc:dd"}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "ok", "lastTransitionTime": "2026-12-01T00:00:00Z", "observedGeneration": 2}],
            },
        })
    }

    #[test]
    fn keeps_what_a_reconcile_reads_and_a_digest_of_the_status() {
        let full: SamlConnection = serde_json::from_value(object()).expect("full");
        let cached: CachedConnection = serde_json::from_value(object()).expect("cached");
        assert!(cached.managed_fields().is_empty());
        assert!(!cached.annotations().contains_key(LAST_APPLIED_ANNOTATION));
        assert_eq!(
            cached
                .annotations()
                .get("sso.stytch-operator.dev/connection-id")
                .map(String::as_str),
            Some("saml-connection-test-1")
        );
        assert_eq!(cached.spec, full.spec);
        let summary = cached.status.as_ref().expect("status");
        let status = full.status.as_ref().expect("status");
        assert_eq!(summary.observed_generation, Some(2));
        assert_eq!(
            summary.connection_id.as_deref(),
            Some("saml-connection-test-1")
        );
        assert_eq!(summary.last_handled_reconcile_at.as_deref(), Some("now"));
        assert_eq!(summary.digest, status::digest(status));
        assert!(summary.digest.is_some());
        // Deserializing directly and converting a full object give the same thing.
        assert_eq!(CachedConnection::from(full).status.as_ref(), Some(summary));
    }

    #[test]
    fn the_digest_tells_a_changed_status_from_an_equal_one() {
        let full: SamlConnection = serde_json::from_value(object()).expect("full");
        let status = full.status.expect("status");
        let summary = StatusSummary::of(&status);
        assert!(!status::differs_from(summary.digest, &status));
        let mut later = status.clone();
        later.conditions[0].last_transition_time.0 = jiff::Timestamp::UNIX_EPOCH;
        later.last_sync_time = Some("later".into());
        assert!(
            !status::differs_from(summary.digest, &later),
            "timestamps do not count"
        );
        let mut rotated = status.clone();
        rotated.signing_certificates[0].sha256_fingerprint = "ee:ff".into();
        assert!(status::differs_from(summary.digest, &rotated));
        assert!(changed(Some(&status), &rotated));
        let mut without = status.clone();
        without.signing_certificates[0].pem = None;
        assert!(
            status::differs_from(summary.digest, &without),
            "a PEM that went missing counts"
        );
        let mut message = status.clone();
        message.conditions[0].message = "other".into();
        assert!(status::differs_from(summary.digest, &message));
        assert!(status::differs_from(None, &status), "no digest: changed");
    }

    #[test]
    fn an_object_without_status_or_annotations_is_cached_as_it_is() {
        let mut value = object();
        value["status"] = Value::Null;
        value["metadata"]["annotations"] = json!({LAST_APPLIED_ANNOTATION: "{}"});
        let cached: CachedConnection = serde_json::from_value(value).expect("cached");
        assert!(cached.status.is_none());
        assert!(cached.metadata.annotations.is_none());
        assert_eq!(cached.name_any(), "acme");
        assert_eq!(CachedConnection::kind(&()), "SamlConnection");
        assert_eq!(
            CachedConnection::api_version(&()),
            "sso.stytch-operator.dev/v1alpha1"
        );
    }
}
