//! Reading manifests: multi-document YAML (or JSON) files and directories of them.
//! `SamlConnection`s, `Secret`s and `ConfigMap`s are kept; other kinds are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::Value;

use super::GitopsError;
use crate::api::SamlConnection;

/// A `SamlConnection` read from a file.
#[derive(Clone, Debug)]
pub struct LocatedConnection {
    pub path: String,
    pub object: SamlConnection,
}

/// A manifest that names itself a `SamlConnection` but does not decode as one.
#[derive(Clone, Debug)]
pub struct InvalidManifest {
    pub path: String,
    pub name: String,
    pub namespace: Option<String>,
    pub message: String,
}

/// A Secret read from a file, `data` (base64) and `stringData` merged.
#[derive(Clone, Debug)]
pub struct LocalSecret {
    pub name: String,
    pub namespace: Option<String>,
    pub data: BTreeMap<String, Vec<u8>>,
}

/// A ConfigMap read from a file.
#[derive(Clone, Debug)]
pub struct LocalConfigMap {
    pub name: String,
    pub namespace: Option<String>,
    pub data: BTreeMap<String, String>,
}

/// Everything read from the inputs, in file order.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub connections: Vec<LocatedConnection>,
    pub invalid: Vec<InvalidManifest>,
    pub secrets: Vec<LocalSecret>,
    pub config_maps: Vec<LocalConfigMap>,
}

/// Reads files and directories (recursively; `.yaml`, `.yml` and `.json` files, sorted by name).
pub fn read_paths(paths: &[PathBuf]) -> Result<Inputs, GitopsError> {
    let mut inputs = Inputs::default();
    for path in paths {
        for file in expand(path)? {
            let text = std::fs::read_to_string(&file).map_err(|source| GitopsError::Read {
                path: file.display().to_string(),
                source,
            })?;
            parse_into(&text, &file.display().to_string(), &mut inputs)?;
        }
    }
    Ok(inputs)
}

fn expand(path: &Path) -> Result<Vec<PathBuf>, GitopsError> {
    let read_err = |source| GitopsError::Read {
        path: path.display().to_string(),
        source,
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read_err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort();
    let mut files = Vec::new();
    for entry in entries {
        if entry.is_dir() {
            files.extend(expand(&entry)?);
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(entry);
        }
    }
    Ok(files)
}

/// Parses one file's documents into `inputs`. `path` only labels messages.
pub fn parse_into(text: &str, path: &str, inputs: &mut Inputs) -> Result<(), GitopsError> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| GitopsError::Manifest {
            path: path.to_owned(),
            message: format!("not valid YAML: {e}"),
        })?;
    for doc in docs {
        match doc.get("kind").and_then(Value::as_str) {
            Some("List") => {
                let items = doc.get("items").and_then(Value::as_array);
                for item in items.into_iter().flatten() {
                    add(item.clone(), path, inputs)?;
                }
            }
            _ => add(doc, path, inputs)?,
        }
    }
    Ok(())
}

fn add(doc: Value, path: &str, inputs: &mut Inputs) -> Result<(), GitopsError> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let meta = |key: &str| {
        doc.get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (name, namespace) = (meta("name").unwrap_or_default(), meta("namespace"));
    let bad = |message: String| GitopsError::Manifest {
        path: path.to_owned(),
        message: format!("{kind} `{name}`: {message}"),
    };
    match kind {
        "SamlConnection" => match serde_json::from_value::<SamlConnection>(doc.clone()) {
            Ok(object) => inputs.connections.push(LocatedConnection {
                path: path.to_owned(),
                object,
            }),
            Err(e) => inputs.invalid.push(InvalidManifest {
                path: path.to_owned(),
                name: name.clone(),
                namespace: namespace.clone(),
                message: e.to_string(),
            }),
        },
        "Secret" => {
            // Decoding errors name the field only: serde_json's messages never quote values of
            // a byte string, but be explicit and drop the message anyway.
            let secret: Secret = serde_json::from_value(doc.clone())
                .map_err(|_| bad("not a valid Secret (check `data` is base64)".into()))?;
            let mut data: BTreeMap<String, Vec<u8>> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            for (k, v) in secret.string_data.unwrap_or_default() {
                data.insert(k, v.into_bytes());
            }
            inputs.secrets.push(LocalSecret {
                name,
                namespace,
                data,
            });
        }
        "ConfigMap" => {
            let cm: ConfigMap = serde_json::from_value(doc.clone())
                .map_err(|e| bad(format!("not a valid ConfigMap: {e}")))?;
            inputs.config_maps.push(LocalConfigMap {
                name,
                namespace,
                data: cm.data.unwrap_or_default(),
            });
        }
        _ => {}
    }
    Ok(())
}

impl Inputs {
    /// Secrets and ConfigMaps visible from `namespace`: those of that namespace and those
    /// without one (a later file wins over an earlier one).
    pub fn sources_for(&self, namespace: &str) -> crate::reconcile::Sources {
        let visible = |ns: &Option<String>| ns.as_deref().is_none_or(|n| n == namespace);
        let mut sources = crate::reconcile::Sources::default();
        for s in self.secrets.iter().filter(|s| visible(&s.namespace)) {
            sources.secrets.insert(s.name.clone(), s.data.clone());
        }
        for c in self.config_maps.iter().filter(|c| visible(&c.namespace)) {
            sources.config_maps.insert(c.name.clone(), c.data.clone());
        }
        sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_files_yield_each_kind() {
        let text = r#"
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: team-a}
data: {project_id: cHJvamVjdA==}
stringData: {secret: s3cr3t}
---
apiVersion: sso.stytch-operator.dev/v1alpha1
kind: SamlConnection
metadata: {name: acme}
spec:
  credentialsRef: {name: creds}
  organizationId: acme
---
apiVersion: sso.stytch-operator.dev/v1alpha1
kind: SamlConnection
metadata: {name: broken}
spec: {organizationId: acme}
---
kind: Deployment
metadata: {name: other}
"#;
        let mut inputs = Inputs::default();
        parse_into(text, "x.yaml", &mut inputs).unwrap();
        assert_eq!(inputs.connections.len(), 1);
        assert_eq!(inputs.invalid.len(), 1);
        assert_eq!(inputs.invalid[0].name, "broken");
        let sources = inputs.sources_for("team-a");
        assert_eq!(sources.secrets["creds"]["project_id"], b"project");
        assert_eq!(sources.secrets["creds"]["secret"], b"s3cr3t");
        assert!(inputs.sources_for("team-b").secrets.is_empty());
    }

    #[test]
    fn bad_secret_data_is_reported_without_its_value() {
        let text = "kind: Secret\nmetadata: {name: creds}\ndata: {secret: 'not*base64!hunter2'}\n";
        let err = parse_into(text, "x.yaml", &mut Inputs::default()).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
