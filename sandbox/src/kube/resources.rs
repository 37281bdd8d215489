//! Resource types served by the emulator: built-in kinds and CRD-registered kinds.

use serde_json::Value;

/// One served version of a resource type.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    /// Version name, e.g. `v1alpha1`.
    pub name: String,
    /// `openAPIV3Schema` of a CRD version, if any.
    pub schema: Option<Value>,
    /// `additionalPrinterColumns` of a CRD version.
    pub columns: Vec<Value>,
    /// Whether `/status` is a subresource.
    pub status: bool,
}

/// A resource type (one group + plural), possibly served in several versions.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    /// Served versions; the first is the storage / preferred version.
    pub versions: Vec<VersionInfo>,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Singular resource name.
    pub singular: String,
    /// Short names.
    pub short_names: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Namespaced or cluster scoped.
    pub namespaced: bool,
    /// Defined by a CRD.
    pub custom: bool,
}

impl ResourceType {
    /// Storage key: `plural` for core, `plural.group` otherwise.
    pub fn key(&self) -> String {
        key_of(&self.group, &self.plural)
    }

    /// `apiVersion` for a version.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    /// Storage `apiVersion`.
    pub fn storage_api_version(&self) -> String {
        self.api_version(
            self.versions
                .first()
                .map(|v| v.name.as_str())
                .unwrap_or("v1"),
        )
    }

    /// The version info for a version name.
    pub fn version(&self, name: &str) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// Whether any served version has a status subresource.
    pub fn has_status(&self) -> bool {
        self.versions.iter().any(|v| v.status)
    }

    /// `plural.group` as used in error messages (`plural` for core).
    pub fn qualified(&self) -> String {
        self.key()
    }

    /// `Kind.group` as used in Invalid messages.
    pub fn kind_group(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

/// Storage key of a group + plural.
pub fn key_of(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// `(group, version, kind, plural, namespaced, short names, has status)` of a built-in kind.
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);

const BUILTINS: &[Builtin] = &[
    ("", "v1", "Namespace", "namespaces", false, &["ns"], true),
    ("", "v1", "Secret", "secrets", true, &[], false),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"], false),
    ("", "v1", "Event", "events", true, &["ev"], false),
    (
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        false,
    ),
    ("", "v1", "Service", "services", true, &["svc"], true),
    (
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        true,
        &["ev"],
        false,
    ),
    (
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        &[],
        false,
    ),
    (
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        true,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        false,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        true,
    ),
];

/// The built-in resource types.
pub fn builtins() -> Vec<ResourceType> {
    BUILTINS
        .iter()
        .map(
            |(group, version, kind, plural, namespaced, short, status)| ResourceType {
                group: group.to_string(),
                versions: vec![VersionInfo {
                    name: version.to_string(),
                    schema: None,
                    columns: builtin_columns(group, kind),
                    status: *status,
                }],
                kind: kind.to_string(),
                plural: plural.to_string(),
                singular: kind.to_lowercase(),
                short_names: short.iter().map(|s| s.to_string()).collect(),
                categories: if matches!(*kind, "Deployment" | "Service") {
                    vec!["all".to_string()]
                } else {
                    vec![]
                },
                namespaced: *namespaced,
                custom: false,
            },
        )
        .collect()
}

/// Printer columns of a few built-in kinds (others print Name and Age).
fn builtin_columns(group: &str, kind: &str) -> Vec<serde_json::Value> {
    let col = |name: &str, ty: &str, path: &str| serde_json::json!({"name": name, "type": ty, "jsonPath": path});
    match (group, kind) {
        ("", "Event") => vec![
            col("Last Seen", "date", ".lastTimestamp"),
            col("Type", "string", ".type"),
            col("Reason", "string", ".reason"),
            col("Object", "string", ".involvedObject.name"),
            col("Message", "string", ".message"),
        ],
        ("events.k8s.io", "Event") => vec![
            col("Type", "string", ".type"),
            col("Reason", "string", ".reason"),
            col("Object", "string", ".regarding.name"),
            col("Note", "string", ".note"),
        ],
        ("", "Secret") => vec![col("Type", "string", ".type")],
        ("coordination.k8s.io", "Lease") => vec![col("Holder", "string", ".spec.holderIdentity")],
        _ => vec![],
    }
}

/// OpenAPI-style Go package prefix used in schema names, e.g. `io.k8s.api.core.v1`.
pub fn schema_prefix(group: &str, version: &str) -> String {
    match group {
        "" => format!("io.k8s.api.core.{version}"),
        "apiextensions.k8s.io" => {
            format!("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}")
        }
        g if g.ends_with(".k8s.io") => {
            let short = g.trim_end_matches(".k8s.io").split('.').next().unwrap_or(g);
            format!("io.k8s.api.{short}.{version}")
        }
        "apps" | "policy" => format!("io.k8s.api.{group}.{version}"),
        g => {
            let mut parts: Vec<&str> = g.split('.').collect();
            parts.reverse();
            format!("{}.{version}", parts.join("."))
        }
    }
}
