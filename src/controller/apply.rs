//! Applies a plan's calls to Stytch, in the plan's order, recording each write.

use kube::runtime::events::EventType;

use super::context::Context;
use super::error::Error;
use crate::api::SamlConnection;
use crate::metadata::FetchError;
use crate::metrics::WriteLabels;
use crate::reconcile::{Call, Plan};
use crate::stytch::model::SamlConnection as LiveConnection;
use crate::stytch::{ErrorClass, StytchClient};

/// Executes the plan's calls; stops at the first failure. The org cache entry is dropped after
/// any write so later readers see fresh data.
pub async fn execute(
    obj: &SamlConnection,
    ctx: &Context,
    client: &StytchClient,
    live: &LiveConnection,
    plan: &Plan,
) -> Result<(), Error> {
    let org = obj.spec.organization_id.as_str();
    let id = live.connection_id.as_str();
    let calls = plan.calls(live.verification_certificates.len());
    let mut result = Ok(());
    for call in &calls {
        let (kind, note, outcome) = match call {
            Call::UpdateByUrl(url) => (
                "update_by_url",
                format!("updated IdP settings from metadata URL {url}"),
                client.update_by_url(org, id, url).await.map(drop),
            ),
            Call::Update(body) => {
                let fields = body.field_names().join(", ");
                (
                    "update_connection",
                    format!("updated {fields}"),
                    client.update_connection(org, id, body).await.map(drop),
                )
            }
            Call::DeleteVerificationCertificate(cert) => (
                "delete_verification_certificate",
                format!("deleted verification certificate {cert}"),
                match client.delete_verification_certificate(org, id, cert).await {
                    Err(e) if e.class() == ErrorClass::NotFound => Ok(()),
                    other => other.map(drop),
                },
            ),
            Call::DeleteEncryptionKey(key) => (
                "delete_encryption_private_key",
                format!("deleted encryption private key {key}"),
                match client.delete_encryption_private_key(org, id, key).await {
                    Err(e) if e.class() == ErrorClass::NotFound => Ok(()),
                    other => other.map(drop),
                },
            ),
        };
        ctx.orgs.invalidate(client, org);
        match outcome {
            Ok(()) => {
                ctx.metrics
                    .writes
                    .get_or_create(&WriteLabels { kind: kind.into() })
                    .inc();
                tracing::info!(object = %obj.metadata.name.as_deref().unwrap_or_default(), connection = id, kind, "Stytch write");
                ctx.event(
                    obj,
                    EventType::Normal,
                    "StytchUpdated",
                    kind,
                    format!("{note} on connection {id}"),
                )
                .await;
            }
            Err(e) => {
                result = Err(Error::Stytch(e));
                break;
            }
        }
    }
    result
}

/// Maps a metadata fetch failure: network trouble is retried, bad content waits for a change.
pub fn metadata_error(err: FetchError) -> Error {
    let message = format!("IdP metadata: {err}");
    if err.is_transient() {
        Error::Transient {
            reason: crate::reconcile::Reason::MetadataFetchFailed,
            message,
        }
    } else {
        Error::Permanent {
            reason: err.reason(),
            message,
        }
    }
}
