//! The naive baseline controller: on every resync, for every resource, list its organization's
//! connections and send a full update (no planning, no shared reads). Runs in-process against
//! the same Stytch sandbox, with the same client library, rate limit and concurrency.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use stytch_saml_operator::stytch::model::UpdateConnectionRequest;
use stytch_saml_operator::stytch::{Credentials, StytchConfig, StytchPool};
use tokio::time::Instant;

use super::BoxError;
use super::env::{ENTITY_ID, PROJECT, SECRET, SSO_URL};

/// One resource as the baseline sees it.
pub struct Target {
    pub organization: String,
    pub connection_id: String,
    pub display_name: String,
}

/// What one baseline cycle did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BaselineCycle {
    pub seconds: f64,
    pub lists: u64,
    pub writes: u64,
    pub total_calls: u64,
}

/// Runs `cycles` naive resync cycles over `targets`.
pub async fn run(
    stytch: &crate::stytch::StytchSandbox,
    targets: &[Target],
    cert: &str,
    rate_limit: f64,
    concurrency: usize,
    cycles: usize,
    timeout: Duration,
) -> Result<Vec<BaselineCycle>, BoxError> {
    let pool = StytchPool::new(StytchConfig {
        base_url_override: Some(stytch.base_url().parse()?),
        rate_limit_per_second: rate_limit,
        ..StytchConfig::default()
    })?;
    let client = pool.client(Credentials {
        project_id: PROJECT.into(),
        secret: SECRET.to_owned().into(),
        base_url: None,
    })?;
    let admin = stytch.admin();
    let mut out = Vec::new();
    for _ in 0..cycles {
        admin.clear_requests();
        let started = Instant::now();
        let work = futures::stream::iter(targets)
            .map(|t| {
                let client = &client;
                async move {
                    client.get_connections(&t.organization).await?;
                    let mapping = [("email", "email"), ("full_name", "name")]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
                        .collect();
                    let body = UpdateConnectionRequest {
                        display_name: Some(t.display_name.clone()),
                        identity_provider: Some("okta".into()),
                        idp_entity_id: Some(ENTITY_ID.into()),
                        idp_sso_url: Some(SSO_URL.into()),
                        x509_certificate: Some(cert.to_owned()),
                        attribute_mapping: Some(mapping),
                        ..UpdateConnectionRequest::default()
                    };
                    client
                        .update_connection(&t.organization, &t.connection_id, &body)
                        .await?;
                    Ok::<(), BoxError>(())
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>();
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| "baseline cycle timed out")??;
        let seconds = started.elapsed().as_secs_f64();
        let c = admin.counters();
        out.push(BaselineCycle {
            seconds,
            lists: c.by_endpoint.get("get_connections").copied().unwrap_or(0),
            writes: c.writes,
            total_calls: c.total,
        });
    }
    Ok(out)
}
