//! What the demo prints: a `kubectl get`-style table and the IdP hand-off URLs.

use super::env::ExampleResult;

fn condition(r: &ExampleResult, type_: &str) -> String {
    r.object
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .map_or_else(|| "-".to_owned(), |c| c.status.clone())
}

/// NAME, ORG, CONNECTION, STATUS, READY, CERT-EXPIRY, PROMISE.
pub fn table(results: &[ExampleResult]) -> String {
    let mut rows = vec![
        [
            "NAME",
            "ORG",
            "CONNECTION",
            "STATUS",
            "READY",
            "CERT-EXPIRY",
            "PROMISE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in results {
        let status = r.object.status.clone().unwrap_or_default();
        rows.push(vec![
            r.name.clone(),
            r.object.spec.organization_id.clone(),
            status.connection_id.unwrap_or_else(|| "-".into()),
            status.connection_status.unwrap_or_else(|| "-".into()),
            condition(r, "Ready"),
            status
                .earliest_certificate_expiry
                .unwrap_or_else(|| "-".into()),
            format!(
                "{} {}",
                if r.reached { "ok" } else { "MISSED" },
                r.expectation.describe()
            ),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::from("\n");
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The ACS URL and audience URI of every connection: what the IdP admin needs.
pub fn idp_instructions(results: &[ExampleResult]) -> String {
    let mut out = String::from("\nGive these to each customer's IdP admin:\n");
    for r in results {
        let Some(status) = &r.object.status else {
            continue;
        };
        if let (Some(acs), Some(aud)) = (&status.acs_url, &status.audience_uri) {
            out.push_str(&format!(
                "  {}:\n    ACS URL:      {acs}\n    Audience URI: {aud}\n",
                r.name
            ));
        }
        if let Some(cert) = status.signing_certificates.first() {
            out.push_str(&format!(
                "    Signing certificate (for signed requests): sha256 {}\n",
                cert.sha256_fingerprint
            ));
        }
    }
    out
}
