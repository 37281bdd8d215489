//! Rendering of a [`DiffReport`]: readable text, or JSON with a stable schema for CI bots.

use std::fmt::Write as _;

use serde_json::Value;

use super::diff::DiffReport;
use super::report::{CallView, DifferenceView, ResourceReport, ResourceStatus, describe_parts};

/// Output format of `diff`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// The report in the requested format, ending with a newline.
pub fn render(report: &DiffReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => text(report),
        OutputFormat::Json => {
            let mut out = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
                serde_json::json!({"error": format!("cannot render the report: {e}")}).to_string()
            });
            out.push('\n');
            out
        }
    }
}

/// The human-readable report.
pub fn text(report: &DiffReport) -> String {
    let mut out = String::new();
    for r in &report.resources {
        resource(&mut out, r);
        out.push('\n');
    }
    let count = |s: ResourceStatus| report.resources.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "{} resource(s): {} in sync, {} with changes, {} to create, {} with errors",
        report.resources.len(),
        count(ResourceStatus::InSync),
        count(ResourceStatus::Changes),
        count(ResourceStatus::Create),
        count(ResourceStatus::Error),
    );
    let verdict = if count(ResourceStatus::Error) > 0 {
        "errors: fix the problems above"
    } else if report.changes {
        "changes: applying these manifests would make the calls above"
    } else {
        "no changes"
    };
    let _ = writeln!(out, "{verdict}");
    out
}

fn resource(out: &mut String, r: &ResourceReport) {
    let id = match (&r.connection_id, r.status) {
        (Some(id), _) => format!("connection {id}"),
        (None, _) => "no connection id".to_owned(),
    };
    let _ = writeln!(out, "samlconnection/{}/{} ({id})", r.namespace, r.name);
    match r.status {
        ResourceStatus::InSync => {
            let _ = writeln!(out, "  in sync");
        }
        ResourceStatus::Error => {
            let _ = writeln!(out, "  error:");
        }
        ResourceStatus::Create => {
            let _ = writeln!(out, "  + create: a new connection would be created");
        }
        ResourceStatus::Changes => {}
    }
    for p in &r.problems {
        let _ = writeln!(out, "  ! {} {}: {}", p.reason, p.field, p.message);
    }
    for d in &r.differences {
        difference(out, d, r);
    }
    for note in &r.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    if !r.calls.is_empty() {
        let _ = writeln!(out, "  calls:");
        for (i, call) in r.calls.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", i + 1, call_line(call));
        }
    }
}

fn difference(out: &mut String, d: &DifferenceView, r: &ResourceReport) {
    if d.field == "idp.certificates" && !r.certificates.is_empty() {
        let _ = writeln!(out, "  ~ idp.certificates:");
        for c in &r.certificates {
            let sign = if c.change == "add" { '+' } else { '-' };
            let _ = writeln!(
                out,
                "      {sign} {}",
                describe_parts(&c.subject, &c.sha256, &c.expires)
            );
        }
        return;
    }
    let raw_field = matches!(
        d.field.as_str(),
        "attributeMapping"
            | "idpInitiatedAuthDisabled"
            | "signingPrivateKeyRef"
            | "encryptionPrivateKeyRef"
    );
    // Placeholders such as `(other keys)` are shown as they are; values are quoted.
    let show = |v: &str| {
        if raw_field || (v.starts_with('(') && v.ends_with(')')) {
            v.to_owned()
        } else {
            Value::String(v.to_owned()).to_string()
        }
    };
    let _ = writeln!(
        out,
        "  ~ {}: {} → {}",
        d.field,
        show(&d.live),
        show(&d.desired)
    );
}

/// `PUT /v1/b2b/sso/saml/{org}/connections/{id} {display_name: "New", signing_private_key}`:
/// values for public fields, names only for secret ones.
pub fn call_line(call: &CallView) -> String {
    let mut line = format!("{} {}", call.method, call.path);
    if !call.fields.is_empty() {
        let parts: Vec<String> = call
            .fields
            .iter()
            .map(|(k, v)| match v {
                Value::Null => format!("{k}: (secret, not shown)"),
                other => format!("{k}: {other}"),
            })
            .collect();
        let _ = write!(line, " {{{}}}", parts.join(", "));
    }
    line
}
