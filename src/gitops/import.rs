//! `import`: writes `SamlConnection` manifests that adopt an organization's live connections
//! (`spec.connectionId` set), so that `diff` on them reports no changes.
//!
//! Certificates are written inline (public PEM). Private keys are never written: Stytch's
//! signing key cannot be exported, and its encryption keys are secret; the manifest leaves both
//! unmanaged (absent fields are not managed) and a comment says which Secret to create to
//! manage them. Imports default to `deletionPolicy: Orphan`, so deleting an imported resource
//! never deletes a connection that existed before the operator knew it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::diff::stytch_problem;
use super::{GitopsError, SourceArgs};
use crate::api::{DeletionPolicy, SamlConnection};
use crate::reconcile::certs::parse_certificate_any_time;
use crate::stytch::Credentials;
use crate::stytch::model::SamlConnection as LiveConnection;

/// Flags of `stytch-saml-operator import`.
#[derive(Clone, Debug, clap::Args)]
pub struct ImportArgs {
    /// Organization to import from: its id or slug (written to `spec.organizationId` as given).
    #[arg(long)]
    pub organization: String,
    /// Import only this connection id.
    #[arg(long)]
    pub connection: Option<String>,
    /// Namespace written into the manifests (and where `--kubeconfig` reads the credentials).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Write `managementPolicy: ObserveOnly`: the operator only reports drift until switched
    /// to `Full`.
    #[arg(long)]
    pub observe_only: bool,
    /// Name of the credentials Secret the manifests reference.
    #[arg(long, default_value = "stytch-credentials")]
    pub credentials_secret_name: String,
    /// `Orphan` (default for imports: deleting the resource keeps the connection) or `Delete`.
    #[arg(long, default_value = "Orphan", value_parser = ["Orphan", "Delete"])]
    pub deletion_policy: String,
    /// Write one `<name>.yaml` per connection into this directory instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Settings of the rendered manifests.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub organization: String,
    pub namespace: Option<String>,
    pub credentials_secret_name: String,
    pub deletion_policy: DeletionPolicy,
    pub observe_only: bool,
}

/// Runs the import; returns a summary for stderr.
pub async fn run(args: &ImportArgs) -> Result<String, GitopsError> {
    let credentials = credentials(args).await?;
    let client = args.source.stytch_pool()?.client(credentials)?;
    let org = &args.organization;
    let mut live = client
        .get_connections(org)
        .await
        .map_err(|e| GitopsError::Usage(stytch_problem(&e, org).message))?
        .saml_connections;
    if let Some(id) = &args.connection {
        live.retain(|c| &c.connection_id == id);
        if live.is_empty() {
            return Err(GitopsError::Usage(format!(
                "connection `{id}` not found in organization `{org}`"
            )));
        }
    }
    let options = ImportOptions {
        organization: org.clone(),
        namespace: args.namespace.clone(),
        credentials_secret_name: args.credentials_secret_name.clone(),
        deletion_policy: if args.deletion_policy == "Delete" {
            DeletionPolicy::Delete
        } else {
            DeletionPolicy::Orphan
        },
        observe_only: args.observe_only,
    };
    let names = resource_names(&live);
    let docs: Vec<(String, String)> = live
        .iter()
        .zip(&names)
        .map(|(c, name)| Ok((name.clone(), render(c, name, &options, Timestamp::now())?)))
        .collect::<Result<_, GitopsError>>()?;
    match &args.output_dir {
        None => {
            let all: Vec<&str> = docs.iter().map(|(_, d)| d.as_str()).collect();
            print!("{}", all.join("---\n"));
            Ok(format!("imported {} connection(s)", docs.len()))
        }
        Some(dir) => {
            let write_err = |path: &PathBuf, source| GitopsError::Write {
                path: path.display().to_string(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
            for (name, doc) in &docs {
                let path = dir.join(format!("{name}.yaml"));
                std::fs::write(&path, doc).map_err(|e| write_err(&path, e))?;
            }
            Ok(format!(
                "imported {} connection(s) into {}",
                docs.len(),
                dir.display()
            ))
        }
    }
}

async fn credentials(args: &ImportArgs) -> Result<Credentials, GitopsError> {
    let bad = |e: crate::stytch::CredentialsError| GitopsError::Credentials(e.to_string());
    if let Some(data) = args.source.credentials_file_data()? {
        return Credentials::from_secret_data(&data).map_err(bad);
    }
    let Some(client) = args.source.kube_client().await? else {
        return Err(GitopsError::Usage(
            "credentials needed: --credentials-secret-file FILE, or --kubeconfig FILE / --cluster to read the Secret named by --credentials-secret-name".into(),
        ));
    };
    let ns = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let name = &args.credentials_secret_name;
    let secret = Api::<Secret>::namespaced(client, &ns)
        .get_opt(name)
        .await
        .map_err(|e| GitopsError::Kube(e.to_string()))?
        .ok_or_else(|| {
            GitopsError::Credentials(format!("Secret `{name}` not found in namespace `{ns}`"))
        })?;
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.insert(k, v.into_bytes());
    }
    Credentials::from_secret_data(&data).map_err(bad)
}

/// DNS-1123 names from the display names (else the connection ids), made unique.
pub fn resource_names(live: &[LiveConnection]) -> Vec<String> {
    let mut used = BTreeSet::new();
    live.iter()
        .map(|c| {
            let base = Some(slug(&c.display_name))
                .filter(|s| !s.is_empty())
                .or_else(|| Some(slug(&c.connection_id)).filter(|s| !s.is_empty()))
                .unwrap_or_else(|| "saml-connection".to_owned());
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                let suffix = format!("-{n}");
                let keep = 63 - suffix.len();
                name = format!(
                    "{}{suffix}",
                    base[..base.len().min(keep)].trim_end_matches('-')
                );
                n += 1;
            }
            name
        })
        .collect()
}

/// Lowercase alphanumerics and single hyphens, at most 63 characters.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(63);
    out.trim_end_matches('-').to_owned()
}

/// The manifest of one live connection, comments first. Never contains private keys.
pub fn render(
    live: &LiveConnection,
    name: &str,
    options: &ImportOptions,
    now: Timestamp,
) -> Result<String, GitopsError> {
    let mut notes: Vec<String> = Vec::new();
    let spec = super::adopt::spec_of(live, options, now, &mut notes);
    let mut object = SamlConnection::new(name, spec);
    object.metadata.namespace = options.namespace.clone();
    // Typed serialization keeps the spec's field order; `status` is absent and `suspend: false`
    // (the default) is dropped.
    let yaml = serde_saphyr::to_string(&object).map_err(|e| GitopsError::Render(e.to_string()))?;
    let yaml: String = yaml
        .lines()
        .filter(|l| *l != "  suspend: false" && *l != "status: null")
        .flat_map(|l| [l, "\n"])
        .collect();
    Ok(format!("{}{yaml}", header(live, name, options, &notes)))
}

fn header(live: &LiveConnection, name: &str, o: &ImportOptions, notes: &[String]) -> String {
    let ns = o.namespace.as_deref().unwrap_or("<namespace>");
    let secret = &o.credentials_secret_name;
    let mut h = String::new();
    let _ = writeln!(
        h,
        "# Imported from Stytch: connection {} ({:?}) of organization {}.",
        live.connection_id, live.display_name, o.organization
    );
    let _ = writeln!(
        h,
        "# Needs the credentials Secret `{secret}` (keys project_id, secret, optionally base_url):"
    );
    let _ = writeln!(
        h,
        "#   kubectl -n {ns} create secret generic {secret} --from-literal=project_id=... --from-literal=secret=..."
    );
    match o.deletion_policy {
        DeletionPolicy::Orphan => {
            let _ = writeln!(
                h,
                "# deletionPolicy Orphan: deleting this resource leaves the Stytch connection in place."
            );
        }
        DeletionPolicy::Delete => {
            let _ = writeln!(
                h,
                "# deletionPolicy Delete: deleting this resource deletes the Stytch connection."
            );
        }
    }
    if o.observe_only {
        let _ = writeln!(
            h,
            "# managementPolicy ObserveOnly: the operator only reports drift (status.drift); switch to Full to manage."
        );
    }
    if let Some(cert) = live.signing_certificates.first() {
        let what = parse_certificate_any_time(&cert.certificate)
            .map(|c| super::report::describe(&c))
            .unwrap_or_else(|_| cert.certificate_id.clone());
        let _ = writeln!(
            h,
            "# Signing key: Stytch signs requests with a key it does not export (certificate {what}); left unmanaged."
        );
        let _ = writeln!(
            h,
            "#   To manage it: kubectl -n {ns} create secret generic {name}-signing-key --from-file=tls.key=key.pem (PKCS#1 RSA),"
        );
        let _ = writeln!(
            h,
            "#   then add spec.signingPrivateKeyRef: {{name: {name}-signing-key, key: tls.key}} (replaces the signing certificate: upload the new one to the IdP)."
        );
    }
    if !live.encryption_private_keys.is_empty() {
        let _ = writeln!(
            h,
            "# Encryption keys: {} exist in Stytch; private keys are never written here, so they are left unmanaged.",
            live.encryption_private_keys.len()
        );
        let _ = writeln!(
            h,
            "#   To manage: kubectl -n {ns} create secret generic {name}-encryption-key --from-file=tls.key=key.pem (PKCS#1 RSA),"
        );
        let _ = writeln!(
            h,
            "#   then add spec.encryptionPrivateKeyRef: {{name: {name}-encryption-key, key: tls.key}} (other keys are then deleted)."
        );
    }
    for note in notes {
        let _ = writeln!(h, "# Not imported: {note}");
    }
    h
}
