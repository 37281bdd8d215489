//! The reconcile driver: fetch → resolve + validate → plan → apply → read back → status.
//! Every decision is made by the pure pipeline in `crate::reconcile`; this file only moves data.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::cached::{CachedConnection, StatusSummary};
use super::context::Context;
use super::error::Error;
use super::{apply, kubeio, lifecycle};
use crate::api::{
    ManagementPolicy, MetadataStatus, SamlConnection, SamlConnectionSpec, SamlConnectionStatus,
};
use crate::metrics::{ConnectionLabels, ObjectLabels, ReconcileLabels};
use crate::reconcile::status::{self, Outcome, StatusInput};
use crate::reconcile::{DesiredIdp, IdpMetadata, plan, resolve};
use crate::stytch::model::SamlConnection as LiveConnection;
use crate::stytch::{Credentials, StytchClient};

/// What one sync found, whether or not it succeeded.
#[derive(Default)]
pub struct Report {
    pub live: Option<LiveConnection>,
    pub connection_id: Option<String>,
    pub metadata: Option<MetadataStatus>,
}

/// Reconciles one `SamlConnection`.
pub async fn reconcile(obj: Arc<CachedConnection>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _in_flight = ctx.in_flight.start();
    let started = std::time::Instant::now();
    let api: Api<SamlConnection> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let result = if obj.metadata.deletion_timestamp.is_some() {
        lifecycle::cleanup(&obj, &api, &ctx).await
    } else {
        reconcile_live(&obj, &api, &ctx).await
    };
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    let (result_label, reason) = match &result {
        Ok(_) => ("success", "Reconciled".to_owned()),
        Err(e) => ("error", e.reason().to_string()),
    };
    ctx.metrics
        .reconciles
        .get_or_create(&ReconcileLabels {
            result: result_label.into(),
            reason,
        })
        .inc();
    let uid = obj.uid().unwrap_or_default();
    match result {
        Ok(action) => {
            ctx.record_success(&uid);
            Ok(action)
        }
        // Permanent errors wait for a change of the resource or of what it references.
        Err(e) if e.is_permanent() => {
            ctx.record_success(&uid);
            Ok(Action::await_change())
        }
        Err(e) => Err(e),
    }
}

async fn reconcile_live(
    obj: &CachedConnection,
    api: &Api<SamlConnection>,
    ctx: &Context,
) -> Result<Action, Error> {
    kubeio::ensure_finalizer(api, obj).await?;
    let mut report = Report::default();
    let result = sync(obj, api, ctx, &mut report).await;
    let credentials_secret = &obj.spec.credentials_ref.name;
    let outcome = match &result {
        Ok(outcome) => outcome.clone(),
        Err(e) => Outcome::Failed {
            reason: e.reason(),
            message: e.message(credentials_secret),
            permanent: e.is_permanent(),
        },
    };
    // The Event goes out before the status, so whoever sees the condition finds the Event.
    if let Err(e) = &result {
        let note = e.message(credentials_secret);
        tracing::warn!(object = %obj.name_any(), reason = %e.reason(), error = %note, "reconcile failed");
        ctx.event(
            obj,
            EventType::Warning,
            e.reason().as_str(),
            "Reconcile",
            note,
        )
        .await;
    }
    write_status(obj, api, ctx, &report, outcome).await?;
    result.map(|_| Action::await_change())
}

/// Computes and writes the status when it changed (ignoring timestamps), and updates gauges.
///
/// The cache keeps a digest of the status, not the status (see [`super::cached`]): the new
/// status is computed from what the cache knows, and when its digest is the cached one nothing
/// is read or written. Otherwise the stored status is read and the new one computed again from
/// it, so transition times (and the live facts when Stytch could not be read) carry over.
pub async fn write_status(
    obj: &CachedConnection,
    api: &Api<SamlConnection>,
    ctx: &Context,
    report: &Report,
    outcome: Outcome,
) -> Result<(), Error> {
    let now = Timestamp::now();
    let compute = |previous: Option<&SamlConnectionStatus>| {
        status::compute(&StatusInput {
            generation: obj.metadata.generation,
            previous,
            live: report.live.as_ref(),
            connection_id: report.connection_id.as_deref(),
            outcome: outcome.clone(),
            metadata: report.metadata.clone(),
            reconcile_requested_at: obj
                .annotations()
                .get(kubeio::RECONCILE_REQUESTED_ANNOTATION)
                .cloned(),
            now,
            expiry_warning: ctx.settings.expiry_warning,
        })
    };
    let cached = obj.status.as_ref();
    let mut new = compute(cached.map(StatusSummary::skeleton).as_ref());
    let mut write = status::differs_from(cached.and_then(|s| s.digest), &new);
    if write && cached.is_some() {
        let stored = api.get_status(&obj.name_any()).await?.status;
        new = compute(stored.as_ref());
        write = status::changed(stored.as_ref(), &new);
    }
    let labels = ObjectLabels {
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    };
    let is_true = |t: &str| {
        new.conditions
            .iter()
            .any(|c| c.type_ == t && c.status == "True")
    };
    ctx.metrics
        .ready
        .get_or_create(&labels)
        .set(i64::from(is_true(status::READY)));
    ctx.metrics
        .synced
        .get_or_create(&labels)
        .set(i64::from(is_true(status::SYNCED)));
    if let (Some(id), Some(expiry)) = (&new.connection_id, &new.earliest_certificate_expiry)
        && let Ok(t) = expiry.parse::<Timestamp>()
    {
        let key = ConnectionLabels {
            namespace: labels.namespace.clone(),
            name: labels.name.clone(),
            connection_id: id.clone(),
        };
        ctx.metrics
            .certificate_expiry
            .get_or_create(&key)
            .set(t.as_second() as f64);
    }
    if write {
        kubeio::write_status(api, &obj.name_any(), &new).await?;
    }
    Ok(())
}

/// The connection id this resource manages, if known: spec, then annotation, then status.
pub fn known_connection_id(obj: &CachedConnection) -> Option<String> {
    connection_id_of(
        &obj.spec,
        &obj.metadata,
        obj.status.as_ref().and_then(|s| s.connection_id.as_deref()),
    )
}

/// [`known_connection_id`] from a resource's parts (whole `SamlConnection`s have them too).
pub fn connection_id_of(
    spec: &SamlConnectionSpec,
    metadata: &ObjectMeta,
    status_connection_id: Option<&str>,
) -> Option<String> {
    spec.connection_id
        .clone()
        .or_else(|| {
            metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(kubeio::CONNECTION_ID_ANNOTATION))
                .cloned()
        })
        .or_else(|| status_connection_id.map(str::to_owned))
        .filter(|id| !id.is_empty())
}

/// Credentials from the fetched Secret, or a permanent error naming the Secret.
pub fn credentials(
    obj: &CachedConnection,
    sources: &crate::reconcile::Sources,
) -> Result<Credentials, Error> {
    let name = &obj.spec.credentials_ref.name;
    let data = sources.secrets.get(name).ok_or_else(|| Error::Permanent {
        reason: crate::reconcile::Reason::CredentialsSecretNotFound,
        message: format!(
            "credentials Secret `{name}` not found in namespace `{}`",
            obj.namespace().unwrap_or_default()
        ),
    })?;
    Credentials::from_secret_data(data).map_err(|e| Error::Permanent {
        reason: crate::reconcile::Reason::CredentialsSecretInvalid,
        message: format!("credentials Secret `{name}`: {e}"),
    })
}

async fn sync(
    obj: &CachedConnection,
    api: &Api<SamlConnection>,
    ctx: &Context,
    report: &mut Report,
) -> Result<Outcome, Error> {
    report.connection_id = known_connection_id(obj);
    if obj.spec.suspend {
        return Ok(Outcome::Suspended);
    }
    let sources = kubeio::fetch_sources(&ctx.client, obj).await?;
    let creds = credentials(obj, &sources)?;
    let mut desired = resolve(&obj.spec, &sources, Timestamp::now()).map_err(Error::Invalid)?;
    if let DesiredIdp::MetadataUrl { url, metadata } = &mut desired.idp {
        let fetched = ctx
            .metadata
            .fetch(url)
            .await
            .map_err(super::apply::metadata_error)?;
        report.metadata = Some(MetadataStatus {
            fetched_at: Some(fetched.fetched_at.to_string()),
            sha256: Some(fetched.sha256.clone()),
        });
        *metadata = Some(IdpMetadata { ..fetched.metadata });
    }
    let client: StytchClient = ctx.stytch.client(creds)?;
    let org = obj.spec.organization_id.as_str();
    let live = match report.connection_id.clone() {
        Some(id) => {
            let list = ctx.orgs.get(&client, org, ctx.freshness_for(obj)).await?;
            match list.find(&id)? {
                Some(live) => live,
                // A cached listing may predate the connection: only a fresh read may say it is gone.
                None => match ctx.orgs.refresh(&client, org).await?.find(&id)? {
                    Some(live) => live,
                    None => return Err(lifecycle::missing_connection(obj, &id)),
                },
            }
        }
        None if obj.spec.management_policy == ManagementPolicy::ObserveOnly => {
            return Err(Error::Permanent {
                reason: crate::reconcile::Reason::ConnectionNotFound,
                message: "ObserveOnly needs spec.connectionId: the operator never creates connections it only observes".into(),
            });
        }
        None => {
            let created = lifecycle::create_or_adopt(obj, api, ctx, &client).await?;
            report.connection_id = Some(created.connection_id.clone());
            created
        }
    };
    report.live = Some(live.clone());
    let plan = plan(&desired, &live);
    if plan.is_empty() {
        return Ok(Outcome::InSync);
    }
    let labels = ObjectLabels {
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    };
    ctx.metrics.drift_detected.get_or_create(&labels).inc();
    if obj.spec.management_policy == ManagementPolicy::ObserveOnly {
        return Ok(Outcome::Drift(plan.drift()));
    }
    let now_live = match apply::execute(obj, ctx, &client, &live, &plan).await {
        Ok(connection) => connection,
        Err(e) => {
            // A write failed part-way: read the organization so status shows the truth.
            if let Ok(fresh) = ctx.orgs.refresh(&client, org).await {
                report.live = fresh.find(&live.connection_id).ok().flatten();
            }
            return Err(e);
        }
    };
    report.live = Some(now_live.clone());
    let now_live = &now_live;
    let remaining = crate::reconcile::plan(&desired, now_live);
    if remaining.is_empty() {
        Ok(Outcome::InSync)
    } else {
        Ok(Outcome::NotTaken(remaining.drift()))
    }
}
