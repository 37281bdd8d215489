//! Short steady-state check of the benchmark (issue #7), run in CI: N=200 resources over M=20
//! organizations, adopted from pre-seeded connections; after convergence, one resync cycle
//! makes no writes and at most one Get-SSO-Connections call per organization, and neither reads
//! nor writes a SamlConnection or its status.
//! The full benchmark is `cargo run --release -p sandbox -- bench` (see BENCHMARKS.md).

mod support;

use std::time::Duration;

use kube::api::PostParams;
use sandbox::stytch::config::{Seed, SeedOrganization, SeedProject};
use sandbox::stytch::model::SamlConnection as SeedConnection;
use serde_json::json;
use stytch_saml_operator::api::SamlConnection;
use support::{Env, PROJECT, SECRET};

const N: usize = 200;
const M: usize = 20;
const RESYNC_SECS: u64 = 6;

fn is_ready(obj: &SamlConnection) -> bool {
    support::is(obj, "Ready", "True")
}

/// Waits until the Stytch sandbox saw no request for `quiet`; returns the request count.
async fn wait_quiet(env: &Env, quiet: Duration, timeout: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = env.requests().len();
    let mut since = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = env.requests().len();
        if now != last {
            last = now;
            since = tokio::time::Instant::now();
        } else if since.elapsed() >= quiet {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Stytch traffic never settled"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_resync_of_converged_resources_writes_nothing_and_lists_each_org_once() {
    let mut env = Env::new().await;
    let cert = support::cert("idp.steady");
    let organizations = (0..M)
        .map(|j| SeedOrganization {
            organization_id: format!("organization-test-steady{j:03}-0000-4000-8000-{j:012}"),
            organization_slug: format!("steady-org-{j:02}"),
            saml_connections: (0..N)
                .filter(|i| i % M == j)
                .map(|i| {
                    serde_json::from_value::<SeedConnection>(json!({
                        "connection_id": format!("saml-connection-test-steady-{i:05}"),
                        "display_name": format!("steady-{i:03}"),
                        "status": "active",
                        "idp_entity_id": "https://idp.steady.example/saml",
                        "idp_sso_url": "https://idp.steady.example/sso",
                        "identity_provider": "okta",
                        "verification_certificates": [{"certificate": cert}],
                        "attribute_mapping": {"email": "email"},
                    }))
                    .unwrap()
                })
                .collect(),
            ..SeedOrganization::default()
        })
        .collect();
    env.stytch
        .admin()
        .seed(Seed {
            projects: vec![SeedProject {
                project_id: PROJECT.into(),
                secret: SECRET.into(),
                organizations,
            }],
            ..Seed::default()
        })
        .unwrap();
    for i in 0..N {
        let obj: SamlConnection = serde_json::from_value(json!({
            "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
            "metadata": {"name": format!("steady-{i:03}")},
            "spec": {
                "credentialsRef": {"name": "stytch-credentials"},
                "organizationId": format!("steady-org-{:02}", i % M),
                "connectionId": format!("saml-connection-test-steady-{i:05}"),
                "displayName": format!("steady-{i:03}"),
            },
        }))
        .unwrap();
        env.api.create(&PostParams::default(), &obj).await.unwrap();
    }
    let interval = format!("{RESYNC_SECS}s");
    env.start_operator(&["--resync-interval", &interval]);

    // Convergence (the start-up round): every resource Ready, adopted without a write.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let items = env.api.list(&Default::default()).await.unwrap().items;
        if items.iter().filter(|o| is_ready(o)).count() == N {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {N} resources Ready",
            items.iter().filter(|o| is_ready(o)).count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_quiet(&env, Duration::from_millis(1000), Duration::from_secs(10)).await;
    assert!(
        env.writes().is_empty(),
        "convergence wrote: {:?}",
        env.writes()
    );

    // The operator runs as the chart's service account, so its Kubernetes requests are audited:
    // convergence wrote every status.
    let status_patches = samlconnection_requests(&env)
        .iter()
        .filter(|r| r.as_str() == "patch status")
        .count();
    assert!(
        status_patches >= N,
        "{status_patches} status patches for {N} resources"
    );

    // One resync cycle.
    env.kube.auth().clear_audit();
    env.stytch.admin().clear_requests();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(RESYNC_SECS + 5);
    while env.requests().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no resync happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_quiet(&env, Duration::from_millis(1500), Duration::from_secs(10)).await;
    let requests = env.requests();
    let lists = requests
        .iter()
        .filter(|r| r.endpoint == "get_connections")
        .count();
    let writes: Vec<_> = requests.iter().filter(|r| r.write).collect();
    // The cache keeps a digest of each status: an unchanged status is neither read nor written.
    let kube = samlconnection_requests(&env);
    env.stop_operator().await;
    assert!(
        kube.is_empty(),
        "a resync of converged resources read or wrote SamlConnections: {kube:?}"
    );
    assert!(
        writes.is_empty(),
        "a resync of converged resources wrote: {writes:?}"
    );
    assert!(lists >= 1, "the resync read nothing");
    assert!(
        lists <= M,
        "{lists} Get-SSO-Connections calls in one resync over {M} organizations"
    );
    assert_eq!(lists, requests.len(), "only lists expected: {requests:?}");
}

/// The operator's SamlConnection requests other than watches, as `verb subresource`.
fn samlconnection_requests(env: &Env) -> Vec<String> {
    env.kube
        .audit()
        .iter()
        .filter(|a| a.request.resource == "samlconnections" && a.request.verb != "watch")
        .map(|a| {
            format!("{} {}", a.request.verb, a.request.subresource)
                .trim()
                .to_owned()
        })
        .collect()
}
