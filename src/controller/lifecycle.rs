//! Lifecycle steps around the live connection: crash-safe create or adopt, and deletion.

use jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::cached::CachedConnection;
use super::context::Context;
use super::error::Error;
use super::kubeio::{self, CONNECTION_ID_ANNOTATION, CREATE_PENDING_ANNOTATION};
use super::reconcile::{Report, credentials, known_connection_id, write_status};
use crate::api::{DeletionPolicy, ManagementPolicy, SamlConnection};
use crate::reconcile::Reason;
use crate::reconcile::status::Outcome;
use crate::stytch::model::{CreateConnectionRequest, SamlConnection as LiveConnection};
use crate::stytch::{ErrorClass, StytchClient};

/// The display name a created connection gets: the spec's, else `<namespace>/<name>`. The
/// crash-recovery lookup relies on it.
pub fn create_display_name(obj: &CachedConnection) -> String {
    obj.spec
        .display_name
        .clone()
        .unwrap_or_else(|| format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

/// The error for a connection id that Stytch does not list.
pub fn missing_connection(obj: &CachedConnection, id: &str) -> Error {
    let message = if obj.spec.connection_id.is_some() {
        format!(
            "connection `{id}` (spec.connectionId) does not exist in organization `{}`; the operator does not create a connection in place of one it was asked to adopt",
            obj.spec.organization_id
        )
    } else {
        format!(
            "connection `{id}`, created by the operator, no longer exists in organization `{}` (deleted outside Kubernetes?); remove the annotation {CONNECTION_ID_ANNOTATION} to create a new one",
            obj.spec.organization_id
        )
    };
    Error::Permanent {
        reason: Reason::ConnectionNotFound,
        message,
    }
}

/// Connection ids claimed by other SamlConnections of the cluster.
async fn claimed_ids(ctx: &Context, obj: &CachedConnection) -> Result<Vec<String>, Error> {
    // Cluster-wide when allowed (other operator instances' resources count too); a
    // namespace-scoped install that may not list cluster-wide checks its own namespaces.
    let items = match Api::<CachedConnection>::all(ctx.client.clone())
        .list(&Default::default())
        .await
    {
        Ok(list) => list.items,
        Err(kube::Error::Api(status))
            if status.code == 403 && !ctx.settings.namespaces.is_empty() =>
        {
            let mut items = Vec::new();
            for ns in &ctx.settings.namespaces {
                items.extend(
                    Api::<CachedConnection>::namespaced(ctx.client.clone(), ns)
                        .list(&Default::default())
                        .await?
                        .items,
                );
            }
            items
        }
        Err(e) => return Err(e.into()),
    };
    let uid = obj.uid();
    Ok(items
        .into_iter()
        .filter(|o| o.uid() != uid)
        .filter_map(|o| known_connection_id(&o))
        .collect())
}

/// Connections of the organization that an interrupted create of `obj` may have made: named
/// with its create display name and claimed by no other SamlConnection. Read fresh.
async fn unclaimed_created(
    obj: &CachedConnection,
    ctx: &Context,
    client: &StytchClient,
) -> Result<Vec<LiveConnection>, Error> {
    let display_name = create_display_name(obj);
    let claimed = claimed_ids(ctx, obj).await?;
    let list = ctx.orgs.refresh(client, &obj.spec.organization_id).await?;
    Ok(list
        .connections()?
        .into_iter()
        .filter(|c| c.display_name == display_name && !claimed.contains(&c.connection_id))
        .collect())
}

/// Creates the connection, crash-safely: a create-pending marker is recorded before Create and
/// the new id right after. If a previous run died between the two, the connection it created is
/// found by display name (and not claimed by another resource) and adopted: exactly one match is
/// adopted, several stall, none means Create never happened and it is sent (once) now.
pub async fn create_or_adopt(
    obj: &CachedConnection,
    api: &Api<SamlConnection>,
    ctx: &Context,
    client: &StytchClient,
) -> Result<LiveConnection, Error> {
    let org = obj.spec.organization_id.as_str();
    let name = obj.name_any();
    let display_name = create_display_name(obj);
    if obj.annotations().contains_key(CREATE_PENDING_ANNOTATION) {
        let candidates = unclaimed_created(obj, ctx, client).await?;
        match candidates.as_slice() {
            [one] => {
                kubeio::annotate(
                    api,
                    &name,
                    &[
                        (CONNECTION_ID_ANNOTATION, Some(&one.connection_id)),
                        (CREATE_PENDING_ANNOTATION, None),
                    ],
                )
                .await?;
                ctx.event(
                    obj,
                    EventType::Normal,
                    "Adopted",
                    "Create",
                    format!(
                        "adopted connection {} created by an interrupted earlier attempt",
                        one.connection_id
                    ),
                )
                .await;
                return Ok(one.clone());
            }
            [] => {}
            many => {
                let ids: Vec<&str> = many.iter().map(|c| c.connection_id.as_str()).collect();
                return Err(Error::Permanent {
                    reason: Reason::CreatePendingAmbiguous,
                    message: format!(
                        "an interrupted create left no recorded id and {} unclaimed connections named `{display_name}` exist ({}); set spec.connectionId to the right one",
                        ids.len(),
                        ids.join(", ")
                    ),
                });
            }
        }
    }
    // Read before the first write: an organization that does not exist (or credentials Stytch
    // refuses) stalls on a read instead of a refused Create. A new resource shares the resync
    // round's listing, so a burst of creates in one organization costs one read.
    ctx.orgs.get(client, org, ctx.freshness_for(obj)).await?;
    let now = Timestamp::now().to_string();
    kubeio::annotate(api, &name, &[(CREATE_PENDING_ANNOTATION, Some(&now))]).await?;
    let body = CreateConnectionRequest {
        display_name: Some(display_name),
        identity_provider: obj
            .spec
            .identity_provider
            .map(|p| p.as_api_str().to_owned()),
    };
    let created = client.create_connection(org, &body).await?;
    ctx.orgs.put(client, org, &created).await;
    ctx.metrics
        .writes
        .get_or_create(&crate::metrics::WriteLabels {
            kind: "create_connection".into(),
        })
        .inc();
    kubeio::annotate(
        api,
        &name,
        &[
            (CONNECTION_ID_ANNOTATION, Some(&created.connection_id)),
            (CREATE_PENDING_ANNOTATION, None),
        ],
    )
    .await?;
    ctx.event(
        obj,
        EventType::Normal,
        "Created",
        "Create",
        format!("created connection {}", created.connection_id),
    )
    .await;
    Ok(created)
}

/// Deletion: with `deletionPolicy: Delete` (and `Full` management) the Stytch connection is
/// deleted (already gone counts as done), then the finalizer is removed. Only the credentials
/// Secret is needed; the rest of the spec may be invalid.
pub async fn cleanup(
    obj: &CachedConnection,
    api: &Api<SamlConnection>,
    ctx: &Context,
) -> Result<Action, Error> {
    let deletes = obj.spec.deletion_policy == DeletionPolicy::Delete
        && obj.spec.management_policy == ManagementPolicy::Full;
    if deletes && let Err(e) = delete_connection(obj, ctx).await {
        let report = Report {
            connection_id: known_connection_id(obj),
            ..Default::default()
        };
        let message = e.message(&obj.spec.credentials_ref.name);
        ctx.event(
            obj,
            EventType::Warning,
            e.reason().as_str(),
            "Delete",
            message.clone(),
        )
        .await;
        write_status(
            obj,
            api,
            ctx,
            &report,
            Outcome::Failed {
                reason: e.reason(),
                message,
                permanent: e.is_permanent(),
            },
        )
        .await?;
        return Err(e);
    }
    kubeio::remove_finalizer(api, obj).await?;
    ctx.forget(obj);
    Ok(Action::await_change())
}

/// Deletes the managed connection. Without a recorded id but with a create-pending marker, a
/// create may have happened just before a crash: the connection is looked up as in
/// [`create_or_adopt`] so it is not orphaned.
async fn delete_connection(obj: &CachedConnection, ctx: &Context) -> Result<(), Error> {
    let known = known_connection_id(obj);
    if known.is_none() && !obj.annotations().contains_key(CREATE_PENDING_ANNOTATION) {
        return Ok(());
    }
    let sources = kubeio::fetch_sources(&ctx.client, obj).await?;
    let creds = credentials(obj, &sources).map_err(|e| Error::Permanent {
        reason: Reason::CredentialsSecretNeededForDeletion,
        message: format!("{e}; it is needed to delete the Stytch connection (restore it, or set spec.deletionPolicy: Orphan)"),
    })?;
    let client = ctx.stytch.client(creds)?;
    let org = obj.spec.organization_id.as_str();
    let id = match known {
        Some(id) => id,
        None => match unclaimed_created(obj, ctx, &client).await?.as_slice() {
            [] => return Ok(()),
            [one] => one.connection_id.clone(),
            _ => {
                return Err(Error::Permanent {
                    reason: Reason::CreatePendingAmbiguous,
                    message: format!(
                        "an interrupted create left several unclaimed connections named `{}`; delete the right one in Stytch, then remove the finalizer",
                        create_display_name(obj)
                    ),
                });
            }
        },
    };
    let id = id.as_str();
    match client.delete_connection(org, id).await {
        Ok(_) => {}
        Err(e) if e.class() == ErrorClass::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    ctx.orgs.invalidate(&client, org);
    ctx.metrics
        .writes
        .get_or_create(&crate::metrics::WriteLabels {
            kind: "delete_connection".into(),
        })
        .inc();
    ctx.event(
        obj,
        EventType::Normal,
        "Deleted",
        "Delete",
        format!("deleted connection {id}"),
    )
    .await;
    Ok(())
}
