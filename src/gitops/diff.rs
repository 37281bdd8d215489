//! `diff`: reads manifests, resolves their Secrets (local manifests or the cluster), reads the
//! live connections and reports what the operator would change. Never writes anything.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use jiff::Timestamp;
use kube::ResourceExt;
use serde::Serialize;

use super::manifests::{self, Inputs};
use super::render::OutputFormat;
use super::report::{Mode, ProblemView, compare};
pub use super::report::{ResourceReport, ResourceStatus};
use super::{EXIT_CHANGES, EXIT_ERROR, EXIT_NO_CHANGES, GitopsError, SourceArgs};
use crate::api::{ManagementPolicy, SamlConnection};
use crate::metadata::{FetchPolicy, MetadataFetcher};
use crate::reconcile::{DesiredIdp, Problem, Reason, resolve};
use crate::stytch::model::SamlConnection as LiveConnection;
use crate::stytch::{Credentials, ErrorClass, StytchError, StytchPool};

/// Flags of `stytch-saml-operator diff`.
#[derive(Clone, Debug, clap::Args)]
pub struct DiffArgs {
    /// Manifest file or directory (multi-document YAML; repeatable).
    #[arg(
        short = 'f',
        long = "filename",
        required = true,
        value_name = "FILE_OR_DIR"
    )]
    pub files: Vec<PathBuf>,
    /// Namespace of resources that name none (default: the kubeconfig's, else `default`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// `text` for people, `json` for CI bots.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// PEM file of extra CA certificates trusted for metadata URLs (an IdP behind a private CA).
    #[arg(long, value_name = "FILE")]
    pub metadata_ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// The whole diff: one report per resource, in input order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DiffReport {
    pub resources: Vec<ResourceReport>,
    /// True when applying the manifests would change something.
    pub changes: bool,
}

impl DiffReport {
    /// Builds the report, computing `changes`.
    pub fn new(resources: Vec<ResourceReport>) -> Self {
        let changes = resources
            .iter()
            .any(|r| matches!(r.status, ResourceStatus::Changes | ResourceStatus::Create));
        Self { resources, changes }
    }

    /// 1 when any resource has errors, else 2 when anything would change, else 0.
    pub fn exit_code(&self) -> u8 {
        if self
            .resources
            .iter()
            .any(|r| r.status == ResourceStatus::Error)
        {
            EXIT_ERROR
        } else if self.changes {
            EXIT_CHANGES
        } else {
            EXIT_NO_CHANGES
        }
    }
}

struct Ctx {
    inputs: Inputs,
    credentials_override: Option<BTreeMap<String, Vec<u8>>>,
    kube: Option<kube::Client>,
    default_namespace: String,
    pool: std::sync::Arc<StytchPool>,
    metadata: MetadataFetcher,
    /// `(project, base URL, organization)` → the organization's SAML connections.
    live: HashMap<(String, String, String), Result<Vec<LiveConnection>, ProblemView>>,
}

/// Runs the diff. Errors here stop everything; per-resource problems are in the report.
pub async fn run(args: &DiffArgs) -> Result<DiffReport, GitopsError> {
    let inputs = manifests::read_paths(&args.files)?;
    if inputs.connections.is_empty() && inputs.invalid.is_empty() {
        return Err(GitopsError::Usage(
            "no SamlConnection manifest found in the inputs".into(),
        ));
    }
    let credentials_override = args.source.credentials_file_data()?;
    let kube = args.source.kube_client().await?;
    let default_namespace = args
        .namespace
        .clone()
        .or_else(|| kube.as_ref().map(|c| c.default_namespace().to_owned()))
        .unwrap_or_else(|| "default".to_owned());
    let extra_root_certificates = match &args.metadata_ca_file {
        Some(path) => {
            crate::metadata::read_ca_file(path).map_err(|message| GitopsError::Manifest {
                path: path.display().to_string(),
                message,
            })?
        }
        None => Vec::new(),
    };
    let metadata = MetadataFetcher::new(FetchPolicy {
        extra_root_certificates,
        ..FetchPolicy::default()
    })
    .map_err(|e| GitopsError::Usage(format!("cannot build the metadata fetcher: {e}")))?;
    let mut ctx = Ctx {
        credentials_override,
        kube,
        pool: args.source.stytch_pool()?,
        metadata,
        live: HashMap::new(),
        default_namespace,
        inputs,
    };
    let mut resources: Vec<ResourceReport> = ctx
        .inputs
        .invalid
        .iter()
        .map(|bad| {
            let ns = bad.namespace.as_deref().unwrap_or(&ctx.default_namespace);
            ResourceReport::error(
                &bad.name,
                ns,
                vec![ProblemView {
                    reason: "InvalidManifest".into(),
                    field: bad.path.clone(),
                    message: bad.message.clone(),
                }],
            )
        })
        .collect();
    let connections = ctx.inputs.connections.clone();
    for located in &connections {
        resources.push(diff_one(&mut ctx, &located.object).await);
    }
    Ok(DiffReport::new(resources))
}

async fn diff_one(ctx: &mut Ctx, obj: &SamlConnection) -> ResourceReport {
    let name = obj.name_any();
    let ns = obj
        .namespace()
        .unwrap_or_else(|| ctx.default_namespace.clone());
    let mut report = ResourceReport::new(&name, &ns, ResourceStatus::Error);
    report.connection_id = crate::controller::connection_id_of(
        &obj.spec,
        &obj.metadata,
        obj.status.as_ref().and_then(|s| s.connection_id.as_deref()),
    );
    let mut problems: Vec<Problem> = Vec::new();
    let mut sources = ctx.inputs.sources_for(&ns);
    if let Some(client) = &ctx.kube
        && let Err(e) =
            crate::controller::fetch_missing_sources(client, &ns, &obj.spec, &mut sources).await
    {
        problems.push(Problem::new(
            Reason::KubernetesApiError,
            "spec",
            format!("cannot read referenced Secrets/ConfigMaps: {e}"),
        ));
    }
    let cred_name = &obj.spec.credentials_ref.name;
    if let Some(data) = &ctx.credentials_override {
        sources.secrets.insert(cred_name.clone(), data.clone());
    }
    let credentials = match sources.secrets.get(cred_name) {
        None => {
            problems.push(Problem::new(
                Reason::CredentialsSecretNotFound,
                "spec.credentialsRef",
                format!("credentials Secret `{cred_name}` not found in the inputs (namespace `{ns}`), the cluster or --credentials-secret-file"),
            ));
            None
        }
        Some(data) => match Credentials::from_secret_data(data) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(Problem::new(
                    Reason::CredentialsSecretInvalid,
                    "spec.credentialsRef",
                    format!("credentials Secret `{cred_name}`: {e}"),
                ));
                None
            }
        },
    };
    let desired = match resolve(&obj.spec, &sources, Timestamp::now()) {
        Ok(d) => Some(d),
        Err(list) => {
            problems.extend(list);
            None
        }
    };
    let (Some(credentials), Some(mut desired)) = (credentials, desired) else {
        report.problems = problems.iter().map(ProblemView::from).collect();
        return report;
    };
    if let DesiredIdp::MetadataUrl { url, metadata } = &mut desired.idp {
        match ctx.metadata.fetch(url).await {
            Ok(fetched) => {
                report.notes.push(format!(
                    "metadata fetched from {url} (sha256 {})",
                    fetched.sha256
                ));
                *metadata = Some(fetched.metadata);
            }
            Err(e) => {
                report.problems.push(ProblemView {
                    reason: e.reason().as_str().to_owned(),
                    field: "spec.idp.metadataUrl".into(),
                    message: format!("cannot fetch the metadata: {e}"),
                });
                return report;
            }
        }
    }
    let org = obj.spec.organization_id.clone();
    let mode = Mode {
        observe_only: obj.spec.management_policy == ManagementPolicy::ObserveOnly,
        suspend: obj.spec.suspend,
    };
    let Some(id) = report.connection_id.clone() else {
        if mode.observe_only {
            report.problems.push(ProblemView {
                reason: Reason::ConnectionNotFound.as_str().into(),
                field: "spec.connectionId".into(),
                message: "ObserveOnly needs spec.connectionId: the operator never creates connections it only observes".into(),
            });
            return report;
        }
        compare(&mut report, &org, &desired, None, mode);
        return report;
    };
    let list = match live_connections(ctx, credentials, &org).await {
        Ok(list) => list,
        Err(problem) => {
            report.problems.push(problem);
            return report;
        }
    };
    match list.iter().find(|c| c.connection_id == id) {
        Some(live) => compare(&mut report, &org, &desired, Some(live), mode),
        None => report.problems.push(ProblemView {
            reason: Reason::ConnectionNotFound.as_str().into(),
            field: "spec.connectionId".into(),
            message: format!("connection `{id}` does not exist in organization `{org}`"),
        }),
    }
    report
}

async fn live_connections(
    ctx: &mut Ctx,
    credentials: Credentials,
    org: &str,
) -> Result<Vec<LiveConnection>, ProblemView> {
    let key = (
        credentials.project_id.clone(),
        credentials.resolved_base_url(),
        org.to_owned(),
    );
    if let Some(cached) = ctx.live.get(&key) {
        return cached.clone();
    }
    let result = match ctx.pool.client(credentials) {
        Ok(client) => client
            .get_connections(org)
            .await
            .map(|r| r.saml_connections),
        Err(e) => Err(e),
    }
    .map_err(|e| stytch_problem(&e, org));
    ctx.live.insert(key, result.clone());
    result
}

/// A Stytch failure as a problem, with the closest reason.
pub fn stytch_problem(e: &StytchError, org: &str) -> ProblemView {
    let reason = e
        .error_type()
        .and_then(Reason::from_error_type)
        .unwrap_or(match e.class() {
            ErrorClass::Auth => Reason::InvalidCredentials,
            ErrorClass::NotFound => Reason::OrganizationNotFound,
            ErrorClass::RateLimited => Reason::RateLimited,
            ErrorClass::Transient => Reason::StytchUnavailable,
            _ => Reason::StytchRequestRejected,
        });
    ProblemView {
        reason: reason.as_str().to_owned(),
        field: "spec.organizationId".into(),
        message: format!("cannot list the connections of organization `{org}`: {e}"),
    }
}
