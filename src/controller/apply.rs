//! Applies a plan's calls to Stytch, in the plan's order, recording each write.

use kube::runtime::events::EventType;

use super::cached::CachedConnection;
use super::context::Context;
use super::error::Error;
use crate::metadata::FetchError;
use crate::metrics::WriteLabels;
use crate::reconcile::{Call, Plan};
use crate::stytch::model::SamlConnection as LiveConnection;
use crate::stytch::{ErrorClass, StytchClient};

/// Executes the plan's calls in order and returns the connection as Stytch last described it:
/// the answer of the last update (each update answers with the whole connection) with the
/// deletions made since applied. That is the read-back the status and the `ValueNotTaken` check
/// use, and it refreshes the organization cache in place, so no extra list call is needed. Stops
/// at the first failure, dropping the cache entry so the next reader sees the truth.
pub async fn execute(
    obj: &CachedConnection,
    ctx: &Context,
    client: &StytchClient,
    live: &LiveConnection,
    plan: &Plan,
) -> Result<LiveConnection, Error> {
    let org = obj.spec.organization_id.as_str();
    let id = live.connection_id.as_str();
    let mut current = live.clone();
    for call in plan.calls(live.verification_certificates.len()) {
        let (kind, note, outcome) = match &call {
            Call::UpdateByUrl(url) => (
                "update_by_url",
                format!("updated IdP settings from metadata URL {url}"),
                client.update_by_url(org, id, url).await.map(Some),
            ),
            Call::Update(body) => {
                let fields = body.field_names().join(", ");
                (
                    "update_connection",
                    format!("updated {fields}"),
                    client.update_connection(org, id, body).await.map(Some),
                )
            }
            Call::DeleteVerificationCertificate(cert) => (
                "delete_verification_certificate",
                format!("deleted verification certificate {cert}"),
                match client.delete_verification_certificate(org, id, cert).await {
                    Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
                    other => other.map(|_| None),
                },
            ),
            Call::DeleteEncryptionKey(key) => (
                "delete_encryption_private_key",
                format!("deleted encryption private key {key}"),
                match client.delete_encryption_private_key(org, id, key).await {
                    Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
                    other => other.map(|_| None),
                },
            ),
        };
        let answer = match outcome {
            Ok(answer) => answer,
            Err(e) => {
                ctx.orgs.invalidate(client, org);
                return Err(Error::Stytch(e));
            }
        };
        match (answer, &call) {
            (Some(connection), _) => current = connection,
            (None, Call::DeleteVerificationCertificate(cert)) => current
                .verification_certificates
                .retain(|c| &c.certificate_id != cert),
            (None, Call::DeleteEncryptionKey(key)) => current
                .encryption_private_keys
                .retain(|k| &k.private_key_id != key),
            (None, _) => {}
        }
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
    ctx.orgs.put(client, org, &current).await;
    Ok(current)
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
