//! Prometheus metrics (prometheus-client), registered once and served on `/metrics`.
//!
//! Labels never carry secret values: only names, namespaces, endpoints, reasons and ids.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::stytch::RequestObserver;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// `success` or `error`.
    pub result: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: String,
    /// HTTP status code, or `error` when no response came back.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    pub namespace: String,
    pub name: String,
    pub connection_id: String,
}

/// Every metric the operator exports.
#[derive(Debug)]
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub stytch_requests: Family<RequestLabels, Counter>,
    pub writes: Family<WriteLabels, Counter>,
    pub drift_detected: Family<ObjectLabels, Counter>,
    pub certificate_expiry: Family<ConnectionLabels, Gauge<f64, AtomicU64>>,
    pub ready: Family<ObjectLabels, Gauge>,
    pub synced: Family<ObjectLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("stytch_saml_operator");
        let reconciles = Family::default();
        registry.register(
            "reconciles",
            "Reconciles by result and reason",
            reconciles.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile",
            reconcile_duration.clone(),
        );
        let stytch_requests = Family::default();
        registry.register(
            "stytch_requests",
            "Stytch API requests by endpoint and HTTP status",
            stytch_requests.clone(),
        );
        let writes = Family::default();
        registry.register("stytch_writes", "Stytch writes by kind", writes.clone());
        let drift_detected = Family::default();
        registry.register(
            "drift_detected",
            "Reconciles that found the live connection different from the spec",
            drift_detected.clone(),
        );
        let certificate_expiry = Family::default();
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "Earliest certificate notAfter of a connection, as a Unix timestamp",
            certificate_expiry.clone(),
        );
        let ready = Family::default();
        registry.register("ready", "1 when the resource is Ready", ready.clone());
        let synced = Family::default();
        registry.register("synced", "1 when the resource is Synced", synced.clone());
        Self {
            registry,
            reconciles,
            reconcile_duration,
            stytch_requests,
            writes,
            drift_detected,
            certificate_expiry,
            ready,
            synced,
        }
    }
}

impl Metrics {
    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Forgets the per-object series of a deleted resource.
    pub fn forget(&self, namespace: &str, name: &str) {
        let labels = ObjectLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        self.ready.remove(&labels);
        self.synced.remove(&labels);
        self.drift_detected.remove(&labels);
    }
}

impl RequestObserver for Metrics {
    fn observe(&self, endpoint: &'static str, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.stytch_requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_owned(),
                status,
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exported_under_its_documented_name() {
        let m = Metrics::default();
        m.reconciles
            .get_or_create(&ReconcileLabels {
                result: "success".into(),
                reason: "Reconciled".into(),
            })
            .inc();
        m.reconcile_duration.observe(0.01);
        m.observe("get_connections", Some(200));
        m.observe("update_connection", None);
        m.writes
            .get_or_create(&WriteLabels {
                kind: "update_connection".into(),
            })
            .inc();
        let obj = ObjectLabels {
            namespace: "ns".into(),
            name: "acme".into(),
        };
        m.drift_detected.get_or_create(&obj).inc();
        m.ready.get_or_create(&obj).set(1);
        m.synced.get_or_create(&obj).set(1);
        let conn = ConnectionLabels {
            namespace: "ns".into(),
            name: "acme".into(),
            connection_id: "c1".into(),
        };
        m.certificate_expiry
            .get_or_create(&conn)
            .set(2_082_758_400.0);
        let text = m.encode();
        for line in [
            r#"stytch_saml_operator_reconciles_total{result="success",reason="Reconciled"} 1"#,
            "stytch_saml_operator_reconcile_duration_seconds_count 1",
            r#"stytch_saml_operator_stytch_requests_total{endpoint="get_connections",status="200"} 1"#,
            r#"stytch_saml_operator_stytch_requests_total{endpoint="update_connection",status="error"} 1"#,
            r#"stytch_saml_operator_stytch_writes_total{kind="update_connection"} 1"#,
            r#"stytch_saml_operator_drift_detected_total{namespace="ns",name="acme"} 1"#,
            r#"stytch_saml_operator_ready{namespace="ns",name="acme"} 1"#,
            r#"stytch_saml_operator_synced{namespace="ns",name="acme"} 1"#,
            r#"stytch_saml_operator_certificate_expiry_timestamp_seconds{namespace="ns",name="acme",connection_id="c1"} 2082758400.0"#,
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        m.forget("ns", "acme");
        assert!(
            !m.encode()
                .contains(r#"stytch_saml_operator_ready{namespace="ns",name="acme"}"#)
        );
    }
}
