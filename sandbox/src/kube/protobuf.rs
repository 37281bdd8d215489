//! Minimal decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`)
//! for the kinds `kubectl create namespace|secret|configmap|serviceaccount` send that way.
//! Responses are always JSON (kubectl's typed clients accept it).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};

const MAGIC: &[u8] = b"k8s\0";

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn bad(msg: &str) -> ApiError {
    ApiError::BadRequest(format!("invalid protobuf body: {msg}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> ApiResult<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(bad("varint too long"))
}

/// Splits a message into `(field number, value)` pairs.
fn fields(buf: &[u8]) -> ApiResult<Vec<(u64, Field<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| bad("length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(|| bad("truncated field"))?;
                let bytes = &buf[pos..end];
                pos = end;
                Field::Bytes(bytes)
            }
            1 => {
                pos += 8;
                Field::Fixed
            }
            5 => {
                pos += 4;
                Field::Fixed
            }
            _ => return Err(bad("unsupported wire type")),
        };
        out.push((key >> 3, field));
    }
    Ok(out)
}

fn string(b: &[u8]) -> ApiResult<String> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("invalid utf-8"))
}

/// A `map<string, string>` (or `map<string, bytes>` base64-encoded) entry into `map`.
fn map_entry(b: &[u8], map: &mut Map<String, Value>, binary: bool) -> ApiResult<()> {
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    for (n, f) in fields(b)? {
        if let Field::Bytes(x) = f {
            match n {
                1 => k = string(x)?,
                2 if binary => v = json!(base64::engine::general_purpose::STANDARD.encode(x)),
                2 => v = json!(string(x)?),
                _ => {}
            }
        }
    }
    map.insert(k, v);
    Ok(())
}

/// Inserts a string field unless it is empty (protobuf encodes unset strings as empty).
fn put_str(m: &mut Map<String, Value>, key: &str, b: &[u8]) -> ApiResult<()> {
    let s = string(b)?;
    if !s.is_empty() {
        m.insert(key.into(), json!(s));
    }
    Ok(())
}

fn object_meta(b: &[u8]) -> ApiResult<Value> {
    let mut m = Map::new();
    let (mut labels, mut annotations, mut finalizers) = (Map::new(), Map::new(), Vec::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => put_str(&mut m, "name", x)?,
            (2, Field::Bytes(x)) => put_str(&mut m, "generateName", x)?,
            (3, Field::Bytes(x)) => put_str(&mut m, "namespace", x)?,
            (6, Field::Bytes(x)) => put_str(&mut m, "resourceVersion", x)?,
            (11, Field::Bytes(x)) => map_entry(x, &mut labels, false)?,
            (12, Field::Bytes(x)) => map_entry(x, &mut annotations, false)?,
            (14, Field::Bytes(x)) => finalizers.push(json!(string(x)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(m))
}

fn typed(kind: &str, raw: &[u8]) -> ApiResult<Value> {
    let mut obj = Map::new();
    let (mut data, mut extra) = (Map::new(), Map::new());
    for (n, f) in fields(raw)? {
        match (kind, n, f) {
            (_, 1, Field::Bytes(x)) => drop(obj.insert("metadata".into(), object_meta(x)?)),
            ("Secret", 2, Field::Bytes(x)) => map_entry(x, &mut data, true)?,
            ("Secret", 3, Field::Bytes(x)) => put_str(&mut obj, "type", x)?,
            ("Secret", 4, Field::Bytes(x)) => map_entry(x, &mut extra, false)?,
            ("Secret", 5, Field::Varint(v)) | ("ConfigMap", 4, Field::Varint(v)) => {
                drop(obj.insert("immutable".into(), json!(v != 0)))
            }
            ("ConfigMap", 2, Field::Bytes(x)) => map_entry(x, &mut data, false)?,
            ("ConfigMap", 3, Field::Bytes(x)) => map_entry(x, &mut extra, true)?,
            ("Namespace", 2, Field::Bytes(x)) => {
                let fins: Vec<Value> = fields(x)?
                    .into_iter()
                    .filter_map(|(n, f)| match (n, f) {
                        (1, Field::Bytes(s)) => string(s).ok().map(Value::String),
                        _ => None,
                    })
                    .collect();
                obj.insert("spec".into(), json!({"finalizers": fins}));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !extra.is_empty() {
        let key = if kind == "Secret" {
            "stringData"
        } else {
            "binaryData"
        };
        obj.insert(key.into(), Value::Object(extra));
    }
    Ok(Value::Object(obj))
}

/// Decodes a protobuf-encoded object of one of the supported kinds into JSON.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let unsupported = || {
        ApiError::UnsupportedMediaType("application/json, application/yaml (protobuf only for Namespace, Secret, ConfigMap, ServiceAccount)".into())
    };
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s magic"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (tn, tf) in fields(tm)? {
                    match (tn, tf) {
                        (1, Field::Bytes(x)) => api_version = string(x)?,
                        (2, Field::Bytes(x)) => kind = string(x)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    if api_version != "v1"
        || !matches!(
            kind.as_str(),
            "Namespace" | "Secret" | "ConfigMap" | "ServiceAccount"
        )
    {
        return Err(unsupported());
    }
    let mut obj = typed(&kind, raw)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_configmap_and_rejects_garbage() {
        // Unknown{typeMeta{apiVersion:"v1",kind:"ConfigMap"}, raw: ConfigMap{metadata{name:"c"}, data{a:"b"}}}
        let meta = [0x0a, 0x01, b'c'];
        let entry = [0x0a, 0x01, b'a', 0x12, 0x01, b'b'];
        let mut raw = vec![0x0a, meta.len() as u8];
        raw.extend_from_slice(&meta);
        raw.extend_from_slice(&[0x12, entry.len() as u8]);
        raw.extend_from_slice(&entry);
        let type_meta = [&[0x0a, 0x02][..], b"v1", &[0x12, 0x09], b"ConfigMap"].concat();
        let mut body = b"k8s\0".to_vec();
        body.extend_from_slice(&[0x0a, type_meta.len() as u8]);
        body.extend_from_slice(&type_meta);
        body.extend_from_slice(&[0x12, raw.len() as u8]);
        body.extend_from_slice(&raw);
        let obj = decode(&body).ok();
        assert_eq!(
            obj,
            Some(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}})
            )
        );
        assert!(decode(b"nope").is_err());
        assert!(decode(b"k8s\0\x0a\x05ab").is_err());
    }
}
