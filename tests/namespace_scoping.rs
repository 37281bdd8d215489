//! Namespace scoping (issue #8): a chart install with `watchNamespaces: [team-a]` (Roles in
//! team-a only) manages team-a, never sees or touches team-b, and never sends a request outside
//! team-a (the Kubernetes sandbox's audit log of the service account). A resource can never read
//! a Secret of another namespace: references carry no namespace, a Secret of the same name in
//! team-b yields `SecretNotFound` / `CredentialsSecretNotFound`, and RBAC denies the read anyway.
//! The one request such an install makes outside its namespaces, the cluster-wide SamlConnection
//! `list` of create recovery, is shown with and without the chart's ClusterRole for it.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use sandbox::kube::authn::AuditEntry;
use serde_json::{Value, json};
use stytch_saml_operator::api::SamlConnection;
use stytch_saml_operator::secret::SecretString;
use stytch_saml_operator::stytch::model::CreateConnectionRequest;
use stytch_saml_operator::stytch::{Credentials, StytchConfig, StytchPool};
use support::chart_rbac::{self, SERVICE_ACCOUNT, ensure_namespace};
use support::*;

const T: Duration = Duration::from_secs(30);
const CREATE_PENDING: &str = "sso.stytch-operator.dev/create-pending";

async fn secret(env: &Env, ns: &str, name: &str, data: Value) {
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap();
    Api::<Secret>::namespaced(env.client.clone(), ns)
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
}

async fn apply_in(env: &Env, ns: &str, name: &str, spec: Value) {
    let obj: SamlConnection = serde_json::from_value(json!({
        "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
        "metadata": {"name": name}, "spec": spec,
    }))
    .unwrap();
    Api::<SamlConnection>::namespaced(env.client.clone(), ns)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap();
}

async fn wait_in(
    env: &Env,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(&SamlConnection) -> bool,
) -> SamlConnection {
    let api: Api<SamlConnection> = Api::namespaced(env.client.clone(), ns);
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let obj = api.get(name).await.unwrap();
        if check(&obj) {
            return obj;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{ns}/{name}: {what}; last {:#?}",
            obj.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn outside(audit: &[AuditEntry], ns: &str) -> Vec<AuditEntry> {
    audit
        .iter()
        .filter(|a| a.request.resource_request && a.request.namespace != ns)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_scoped_install_stays_in_its_namespace() {
    let values = json!({"watchNamespaces": ["team-a"]});
    let rbac = chart_rbac::render(&values, NS).expect("helm renders the chart");
    let mut env = Env::with_rbac(Some(rbac)).await;
    for ns in ["team-a", "team-b"] {
        ensure_namespace(&env.client, ns).await;
        secret(
            &env,
            ns,
            "stytch-credentials",
            json!({"project_id": PROJECT, "secret": SECRET, "base_url": env.stytch.base_url()}),
        )
        .await;
    }
    // The certificate Secret exists only in team-b.
    secret(&env, "team-b", "idp-cert", json!({"tls.crt": cert("b")})).await;
    env.start_operator(&["--namespace", "team-a"]);

    apply_in(&env, "team-a", "a", full_spec(&[&cert("a")])).await;
    apply_in(&env, "team-b", "b", full_spec(&[&cert("b")])).await;
    let mut cross = full_spec(&[]);
    cross["idp"]["certificates"] =
        json!([{"secretKeyRef": {"name": "idp-cert", "key": "tls.crt"}}]);
    apply_in(&env, "team-a", "cross-secret", cross).await;
    let mut cross_creds = full_spec(&[&cert("c")]);
    cross_creds["credentialsRef"] = json!({"name": "creds-only-in-b"});
    secret(
        &env,
        "team-b",
        "creds-only-in-b",
        json!({"project_id": PROJECT, "secret": SECRET, "base_url": env.stytch.base_url()}),
    )
    .await;
    apply_in(&env, "team-a", "cross-creds", cross_creds).await;

    wait_in(&env, "team-a", "a", "Ready", |o| is(o, "Ready", "True")).await;
    let obj = wait_in(&env, "team-a", "cross-secret", "SecretNotFound", |o| {
        reason(o, "Ready").as_deref() == Some("SecretNotFound")
    })
    .await;
    assert!(is(&obj, "Ready", "False"));
    wait_in(
        &env,
        "team-a",
        "cross-creds",
        "CredentialsSecretNotFound",
        |o| reason(o, "Ready").as_deref() == Some("CredentialsSecretNotFound"),
    )
    .await;
    // Give team-b every chance to be (wrongly) touched, then look.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let b = Api::<SamlConnection>::namespaced(env.client.clone(), "team-b")
        .get("b")
        .await
        .unwrap();
    assert!(
        b.status.is_none(),
        "team-b resource got a status: {:?}",
        b.status
    );
    assert!(
        b.metadata.finalizers.is_none_or(|f| f.is_empty()),
        "team-b resource got a finalizer"
    );
    let creates = env.writes_to("create_connection");
    assert_eq!(
        creates,
        1,
        "only team-a/a is created in Stytch: {:?}",
        env.writes()
    );
    env.stop_operator().await;

    let audit = env.kube.audit();
    let sa = format!("system:serviceaccount:{NS}:{SERVICE_ACCOUNT}");
    assert!(audit.iter().all(|a| a.user == sa));
    let denied: Vec<_> = audit.iter().filter(|a| !a.allowed).collect();
    let elsewhere = outside(&audit, "team-a");
    let secret_reads = audit
        .iter()
        .filter(|a| a.request.resource == "secrets")
        .count();
    println!(
        "namespace scoping: {} requests of {sa}, {} outside team-a, {} denied, {} Secret requests (all team-a), {creates} Stytch create",
        audit.len(),
        elsewhere.len(),
        denied.len(),
        secret_reads
    );
    assert!(
        audit.len() > 5,
        "the operator ran as the service account: {audit:#?}"
    );
    assert!(
        elsewhere.is_empty(),
        "requests outside team-a: {elsewhere:#?}"
    );
    assert!(denied.is_empty(), "denied requests: {denied:#?}");

    // And RBAC would refuse the cross-namespace read anyway.
    let client = env
        .kube
        .service_account_client(NS, SERVICE_ACCOUNT)
        .await
        .unwrap();
    for (ns, name) in [("team-b", "idp-cert"), ("team-b", "creds-only-in-b")] {
        let err = Api::<Secret>::namespaced(client.clone(), ns)
            .get(name)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 403),
            "{err}"
        );
    }
    Api::<Secret>::namespaced(client.clone(), "team-a")
        .get("stytch-credentials")
        .await
        .unwrap();
    let all = Api::<Secret>::all(client)
        .list(&Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&all, kube::Error::Api(s) if s.code == 403),
        "{all}"
    );
}

/// Two connections in Stytch carry the create display name of `team-a/a`, whose create was
/// interrupted (create-pending marker, no id); `team-b/b` (outside the watched namespace)
/// claims the first by `spec.connectionId`. Recovery must not adopt a connection another
/// resource claims: with the chart's cluster-wide `list` (the default) it sees team-b's claim
/// and adopts the second; without it the check covers team-a only, so both look unclaimed and
/// the resource stalls with `CreatePendingAmbiguous`. Either way the only request outside
/// team-a is that one cluster-wide `list` of SamlConnections, and no connection is created.
async fn interrupted_create(cluster_wide_list: bool) {
    let values = json!({
        "watchNamespaces": ["team-a"],
        "rbac": {"clusterWideConnectionList": cluster_wide_list},
    });
    let rbac = chart_rbac::render(&values, NS).expect("helm renders the chart");
    let mut env = Env::with_rbac(Some(rbac)).await;
    let creds = json!({"project_id": PROJECT, "secret": SECRET, "base_url": env.stytch.base_url()});
    for ns in ["team-a", "team-b"] {
        ensure_namespace(&env.client, ns).await;
        secret(&env, ns, "stytch-credentials", creds.clone()).await;
    }
    let stytch = StytchPool::new(StytchConfig::default())
        .unwrap()
        .client(Credentials {
            project_id: PROJECT.into(),
            secret: SecretString::new(SECRET),
            base_url: Some(env.stytch.base_url().parse().unwrap()),
        })
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let body = CreateConnectionRequest {
            display_name: Some("Acme Okta".into()),
            identity_provider: Some("okta".into()),
        };
        ids.push(
            stytch
                .create_connection("acme", &body)
                .await
                .unwrap()
                .connection_id,
        );
    }
    let mut claims = full_spec(&[&cert("b")]);
    claims["connectionId"] = json!(ids[0]);
    apply_in(&env, "team-b", "b", claims).await;
    let interrupted: SamlConnection = serde_json::from_value(json!({
        "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
        "metadata": {"name": "a", "annotations": {CREATE_PENDING: "2026-12-03T00:00:00Z"}},
        "spec": full_spec(&[&cert("a")]),
    }))
    .unwrap();
    Api::<SamlConnection>::namespaced(env.client.clone(), "team-a")
        .create(&PostParams::default(), &interrupted)
        .await
        .unwrap();
    env.start_operator(&["--namespace", "team-a"]);

    let outcome = if cluster_wide_list {
        let a = wait_in(&env, "team-a", "a", "Ready", |o| is(o, "Ready", "True")).await;
        let adopted = a.status.and_then(|s| s.connection_id);
        assert_eq!(
            adopted.as_deref(),
            Some(ids[1].as_str()),
            "adopts the unclaimed one"
        );
        "adopted the unclaimed connection"
    } else {
        wait_in(&env, "team-a", "a", "CreatePendingAmbiguous", |o| {
            reason(o, "Ready").as_deref() == Some("CreatePendingAmbiguous")
        })
        .await;
        "stalled CreatePendingAmbiguous"
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    env.stop_operator().await;
    assert_eq!(
        env.writes_to("create_connection"),
        2,
        "only the test's two creates: {:?}",
        env.writes()
    );

    let audit = env.kube.audit();
    let elsewhere = outside(&audit, "team-a");
    let cluster_lists = elsewhere
        .iter()
        .filter(|a| {
            a.request.verb == "list"
                && a.request.resource == "samlconnections"
                && a.request.namespace.is_empty()
        })
        .count();
    println!(
        "interrupted create, clusterWideConnectionList={cluster_wide_list}: {outcome}; {} requests, {} outside team-a ({cluster_lists} cluster-wide SamlConnection lists), {} denied",
        audit.len(),
        elsewhere.len(),
        audit.iter().filter(|a| !a.allowed).count()
    );
    assert!(
        cluster_lists >= 1,
        "the claim check lists cluster-wide first"
    );
    assert_eq!(
        cluster_lists,
        elsewhere.len(),
        "nothing but SamlConnection lists leaves team-a: {elsewhere:#?}"
    );
    for entry in audit.iter().filter(|a| a.request.resource_request) {
        assert_eq!(
            entry.allowed,
            entry.request.namespace == "team-a" || cluster_wide_list,
            "{entry:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_create_sees_claims_in_other_namespaces_through_the_cluster_wide_list() {
    interrupted_create(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cluster_wide_list_an_interrupted_create_checks_its_namespaces_only() {
    interrupted_create(false).await;
}
