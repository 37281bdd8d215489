//! The Stytch client against a local HTTP test double: paths, headers, bodies, error
//! classification, retries, Retry-After, write serialization, and no secrets in output.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stytch_saml_operator::secret::SecretString;
use stytch_saml_operator::stytch::model::{CreateConnectionRequest, UpdateConnectionRequest};
use stytch_saml_operator::stytch::{
    Credentials, ErrorClass, RetryPolicy, StytchConfig, StytchError, StytchPool,
};

const SECRET: &str = "secret-test-DO-NOT-LEAK-4242";

#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

#[derive(Default)]
struct Double {
    seen: Mutex<Vec<Seen>>,
    /// Canned answers, used in order; when empty, a default success for the endpoint.
    script: Mutex<VecDeque<(u16, Value, Option<&'static str>)>>,
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

fn connection(id: &str) -> Value {
    json!({
        "organization_id": "organization-test-1", "connection_id": id, "status": "pending",
        "idp_entity_id": "", "display_name": "Acme", "idp_sso_url": "",
        "acs_url": format!("https://test.stytch.com/v1/b2b/sso/callback/{id}"),
        "audience_uri": format!("https://test.stytch.com/v1/b2b/sso/callback/{id}"),
        "signing_certificates": [], "verification_certificates": [], "encryption_private_keys": [],
        "saml_connection_implicit_role_assignments": [], "saml_group_implicit_role_assignments": [],
        "alternative_audience_uri": "", "identity_provider": "okta", "nameid_format": "",
        "alternative_acs_url": "", "idp_initiated_auth_disabled": false, "allow_gateway_callback": false,
        "some_future_field": {"kept": true}
    })
}

async fn handle(
    State(d): State<Arc<Double>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = d.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    d.max_in_flight.fetch_max(now, Ordering::SeqCst);
    d.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: uri.path().to_string(),
        headers,
        body,
        at: Instant::now(),
    });
    let delay = *d.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    d.in_flight.fetch_sub(1, Ordering::SeqCst);
    let scripted = d.script.lock().unwrap().pop_front();
    let (status, body, retry_after) = scripted.unwrap_or_else(|| {
        let path = uri.path();
        let body = if method == Method::GET {
            json!({"request_id": "r", "status_code": 200, "saml_connections": [connection("saml-connection-test-1")], "oidc_connections": [], "external_connections": []})
        } else if path.contains("/verification_certificates/") {
            json!({"request_id": "r", "status_code": 200, "certificate_id": path.rsplit('/').next()})
        } else if path.contains("/encryption_private_keys/") {
            json!({"request_id": "r", "status_code": 200, "private_key_id": path.rsplit('/').next()})
        } else if method == Method::DELETE {
            json!({"request_id": "r", "status_code": 200, "connection_id": path.rsplit('/').next()})
        } else {
            json!({"request_id": "r", "status_code": 200, "connection": connection("saml-connection-test-1")})
        };
        (200, body, None)
    });
    let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().unwrap());
    }
    response
}

async fn start() -> (Arc<Double>, String) {
    let double = Arc::new(Double::default());
    let app = Router::new().fallback(handle).with_state(double.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (double, format!("http://{addr}"))
}

fn client(base: &str, retry: RetryPolicy) -> stytch_saml_operator::stytch::StytchClient {
    let pool = StytchPool::new(StytchConfig {
        retry,
        rate_limit_per_second: 1000.0,
        rate_limit_burst: 100,
        ..Default::default()
    })
    .unwrap();
    pool.client(Credentials {
        project_id: "project-test-1".into(),
        secret: SecretString::new(SECRET),
        base_url: Some(base.parse().unwrap()),
    })
    .unwrap()
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(3),
    }
}

fn err(status: u16, error_type: &str) -> (u16, Value, Option<&'static str>) {
    (
        status,
        json!({"status_code": status, "request_id": "req-1", "error_type": error_type, "error_message": format!("{error_type} happened"), "error_url": "https://stytch.com/docs/api/errors/400"}),
        None,
    )
}

#[tokio::test]
async fn every_endpoint_sends_the_documented_request() {
    let (double, base) = start().await;
    let c = client(&base, fast_retry(1));
    let org = "acme corp/ü";
    let created = c
        .create_connection(
            org,
            &CreateConnectionRequest {
                display_name: Some("Acme".into()),
                identity_provider: Some("okta".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.connection_id, "saml-connection-test-1");
    assert_eq!(
        created.extra["some_future_field"],
        json!({"kept": true}),
        "unknown fields preserved"
    );
    let update = UpdateConnectionRequest {
        idp_initiated_auth_disabled: Some(false),
        signing_private_key: Some(SecretString::new("KEYDATA")),
        ..Default::default()
    };
    c.update_connection(org, "saml-connection-test-1", &update)
        .await
        .unwrap();
    c.update_by_url(
        org,
        "saml-connection-test-1",
        "https://idp.example.com/metadata",
    )
    .await
    .unwrap();
    assert_eq!(
        c.delete_verification_certificate(org, "saml-connection-test-1", "cert/1")
            .await
            .unwrap(),
        "cert%2F1"
    );
    assert_eq!(
        c.delete_encryption_private_key(org, "saml-connection-test-1", "key-1")
            .await
            .unwrap(),
        "key-1"
    );
    let list = c.get_connections(org).await.unwrap();
    assert_eq!(list.saml_connections.len(), 1);
    assert_eq!(
        c.delete_connection(org, "saml-connection-test-1")
            .await
            .unwrap(),
        "saml-connection-test-1"
    );

    let seen = double.seen.lock().unwrap().clone();
    let enc = "acme%20corp%2F%C3%BC";
    let expected = [
        (Method::POST, format!("/v1/b2b/sso/saml/{enc}")),
        (
            Method::PUT,
            format!("/v1/b2b/sso/saml/{enc}/connections/saml-connection-test-1"),
        ),
        (
            Method::PUT,
            format!("/v1/b2b/sso/saml/{enc}/connections/saml-connection-test-1/url"),
        ),
        (
            Method::DELETE,
            format!(
                "/v1/b2b/sso/saml/{enc}/connections/saml-connection-test-1/verification_certificates/cert%2F1"
            ),
        ),
        (
            Method::DELETE,
            format!(
                "/v1/b2b/sso/saml/{enc}/connections/saml-connection-test-1/encryption_private_keys/key-1"
            ),
        ),
        (Method::GET, format!("/v1/b2b/sso/{enc}")),
        (
            Method::DELETE,
            format!("/v1/b2b/sso/{enc}/connections/saml-connection-test-1"),
        ),
    ];
    assert_eq!(seen.len(), expected.len());
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("project-test-1:{SECRET}"))
    );
    for (s, (method, path)) in seen.iter().zip(expected) {
        assert_eq!((&s.method, &s.path), (&method, &path));
        assert_eq!(s.headers["content-type"], "application/json");
        assert_eq!(s.headers["authorization"], basic.as_str());
        assert_eq!(
            s.headers["user-agent"],
            concat!("stytch-saml-operator/", env!("CARGO_PKG_VERSION"))
        );
    }
    let body = |i: usize| serde_json::from_slice::<Value>(&seen[i].body).unwrap();
    assert_eq!(
        body(0),
        json!({"display_name": "Acme", "identity_provider": "okta"})
    );
    assert_eq!(
        body(1),
        json!({"idp_initiated_auth_disabled": false, "signing_private_key": "KEYDATA"})
    );
    assert_eq!(
        body(2),
        json!({"metadata_url": "https://idp.example.com/metadata"})
    );
    assert!(seen[3].body.is_empty() && seen[5].body.is_empty());
}

#[tokio::test]
async fn error_bodies_are_classified() {
    let (double, base) = start().await;
    let c = client(&base, fast_retry(1));
    let cases = [
        (err(400, "invalid_x509_certificate"), ErrorClass::Permanent),
        (err(404, "organization_not_found"), ErrorClass::NotFound),
        (err(401, "unauthorized_credentials"), ErrorClass::Auth),
        (err(429, "too_many_requests"), ErrorClass::RateLimited),
        (err(500, "internal_server_error"), ErrorClass::Transient),
        (
            (502, json!("<html>bad gateway</html>"), None),
            ErrorClass::Transient,
        ),
    ];
    for ((status, body, after), class) in cases {
        double
            .script
            .lock()
            .unwrap()
            .push_back((status, body.clone(), after));
        let e = c.get_connections("acme").await.unwrap_err();
        assert_eq!(e.class(), class, "{e}");
        if let Some(t) = body.get("error_type").and_then(Value::as_str) {
            assert_eq!(e.error_type(), Some(t));
            assert!(e.to_string().contains(t));
        }
    }
}

#[tokio::test]
async fn transient_reads_are_retried_with_bounded_attempts() {
    let (double, base) = start().await;
    let c = client(&base, fast_retry(4));
    double
        .script
        .lock()
        .unwrap()
        .extend([err(503, ""), err(500, "internal_server_error")]);
    assert_eq!(
        c.get_connections("acme")
            .await
            .unwrap()
            .saml_connections
            .len(),
        1
    );
    assert_eq!(double.seen.lock().unwrap().len(), 3);
    double.seen.lock().unwrap().clear();
    double
        .script
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(err(503, ""), 10));
    assert_eq!(
        c.get_connections("acme").await.unwrap_err().class(),
        ErrorClass::Transient
    );
    assert_eq!(
        double.seen.lock().unwrap().len(),
        4,
        "max_attempts bounds the retries"
    );
    double.script.lock().unwrap().clear();
    double.seen.lock().unwrap().clear();
    double
        .script
        .lock()
        .unwrap()
        .push_back(err(400, "invalid_x509_certificate"));
    c.get_connections("acme").await.unwrap_err();
    assert_eq!(
        double.seen.lock().unwrap().len(),
        1,
        "permanent errors are not retried"
    );
}

#[tokio::test]
async fn non_idempotent_writes_are_resent_only_when_not_processed() {
    let (double, base) = start().await;
    let c = client(&base, fast_retry(4));
    double
        .script
        .lock()
        .unwrap()
        .push_back(err(500, "internal_server_error"));
    let e = c
        .create_connection("acme", &CreateConnectionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Transient);
    assert_eq!(
        double.seen.lock().unwrap().len(),
        1,
        "a create that may have happened is not repeated"
    );
    double.seen.lock().unwrap().clear();
    double
        .script
        .lock()
        .unwrap()
        .push_back(err(429, "too_many_requests"));
    c.create_connection("acme", &CreateConnectionRequest::default())
        .await
        .unwrap();
    assert_eq!(
        double.seen.lock().unwrap().len(),
        2,
        "a rate-limited create was not processed and is resent"
    );
    double.seen.lock().unwrap().clear();
    double.script.lock().unwrap().push_back(err(503, ""));
    let with_cert = UpdateConnectionRequest {
        x509_certificate: Some("PEM".into()),
        ..Default::default()
    };
    c.update_connection("acme", "c", &with_cert)
        .await
        .unwrap_err();
    assert_eq!(
        double.seen.lock().unwrap().len(),
        1,
        "certificate uploads accumulate: not repeated"
    );
    double.seen.lock().unwrap().clear();
    double.script.lock().unwrap().push_back(err(503, ""));
    let fields = UpdateConnectionRequest {
        display_name: Some("x".into()),
        ..Default::default()
    };
    c.update_connection("acme", "c", &fields).await.unwrap();
    assert_eq!(
        double.seen.lock().unwrap().len(),
        2,
        "a field update is idempotent and retried"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (double, base) = start().await;
    let c = client(&base, fast_retry(3));
    let (s, b, _) = err(429, "too_many_requests");
    double.script.lock().unwrap().push_back((s, b, Some("1")));
    c.get_connections("acme").await.unwrap();
    let seen = double.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "waited only {gap:?} despite Retry-After: 1"
    );
}

#[tokio::test]
async fn network_failures_are_transient_transport_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = client(&base, fast_retry(2));
    let e = c.get_connections("acme").await.unwrap_err();
    assert!(
        matches!(
            e,
            StytchError::Transport {
                kind: stytch_saml_operator::stytch::TransportKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Transient);
    assert!(e.request_not_processed());
}

#[tokio::test]
async fn writes_to_one_organization_are_serialized() {
    let (double, base) = start().await;
    *double.delay.lock().unwrap() = Duration::from_millis(100);
    let c = client(&base, fast_retry(1));
    let body = UpdateConnectionRequest {
        display_name: Some("x".into()),
        ..Default::default()
    };
    let same = futures::future::join_all((0..4).map(|i| {
        let (c, body) = (c.clone(), body.clone());
        async move { c.update_connection("acme", &format!("c{i}"), &body).await }
    }))
    .await;
    assert!(same.iter().all(Result::is_ok));
    assert_eq!(
        double.max_in_flight.swap(0, Ordering::SeqCst),
        1,
        "one write at a time per organization"
    );
    let different = futures::future::join_all((0..4).map(|i| {
        let (c, body) = (c.clone(), body.clone());
        async move { c.update_connection(&format!("org{i}"), "c", &body).await }
    }))
    .await;
    assert!(different.iter().all(Result::is_ok));
    assert!(
        double.max_in_flight.load(Ordering::SeqCst) > 1,
        "different organizations proceed in parallel"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let (double, base) = start().await;
    let c = client(&base, fast_retry(1));
    assert!(!format!("{c:?}").contains(SECRET));
    double
        .script
        .lock()
        .unwrap()
        .push_back(err(401, "unauthorized_credentials"));
    let e = c
        .update_connection(
            "acme",
            "c",
            &UpdateConnectionRequest {
                signing_private_key: Some(SecretString::new(
                    "-----BEGIN RSA PRIVATE KEY-----MIIsecret",
                )),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    for text in [format!("{e}"), format!("{e:?}")] {
        assert!(
            !text.contains(SECRET) && !text.contains("MIIsecret"),
            "{text}"
        );
    }
    let update = UpdateConnectionRequest {
        saml_encryption_private_key: Some(SecretString::new("MIIsecret")),
        ..Default::default()
    };
    assert!(!format!("{update:?}").contains("MIIsecret"));
}
