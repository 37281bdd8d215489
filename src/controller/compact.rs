//! A listed Stytch connection as the organization cache keeps it: its JSON text with each
//! certificate PEM taken out and kept as the DER bytes it encodes, when the PEM is exactly the
//! standard encoding of those bytes (64-character base64 lines between the
//! `CERTIFICATE` armor). A certificate is most of a connection, and its DER is about 3/4 of its
//! PEM. Any other text (a chain, other line lengths, CRLF, not PEM at all) is kept as it is, so
//! a connection always comes back exactly as it was listed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::reconcile::certs::canonical_pem;
use crate::stytch::model::{SamlConnection, X509Certificate};

const BEGIN: &str = "-----BEGIN CERTIFICATE-----\n";
const END: &str = "-----END CERTIFICATE-----";

/// A certificate PEM kept as its DER bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CompactPem {
    der: Box<[u8]>,
    /// Whether the PEM ended with a newline after the END line.
    final_newline: bool,
}

impl CompactPem {
    /// The compact form of `pem`, if it is exactly the standard encoding of one certificate.
    fn of(pem: &str) -> Option<Self> {
        let body = pem.strip_prefix(BEGIN)?;
        let (body, final_newline) = match body.strip_suffix('\n') {
            Some(rest) => (rest, true),
            None => (body, false),
        };
        let base64 = body.strip_suffix(END)?.strip_suffix('\n')?;
        let joined: String = base64.split('\n').collect();
        let der = STANDARD.decode(joined.as_bytes()).ok()?;
        let compact = Self {
            der: der.into_boxed_slice(),
            final_newline,
        };
        (compact.pem() == pem).then_some(compact)
    }

    /// The PEM text this was made from.
    fn pem(&self) -> String {
        let mut pem = canonical_pem("CERTIFICATE", &self.der);
        if !self.final_newline {
            pem.pop();
        }
        pem
    }
}

/// One cached connection.
#[derive(Clone)]
pub struct CompactConnection {
    pub id: String,
    /// The connection as JSON, with compacted certificates' PEMs left empty.
    json: Box<str>,
    /// Per certificate (signing, then verification, in order): its PEM's compact form, or
    /// `None` where the JSON keeps the text.
    pems: Box<[Option<CompactPem>]>,
}

fn is_default(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn certificates(c: &mut SamlConnection) -> impl Iterator<Item = &mut X509Certificate> {
    c.signing_certificates
        .iter_mut()
        .chain(c.verification_certificates.iter_mut())
}

impl CompactConnection {
    /// The compact form of `connection`.
    pub fn new(connection: &SamlConnection) -> Result<Self, serde_json::Error> {
        let mut stripped = connection.clone();
        let pems: Box<[Option<CompactPem>]> = certificates(&mut stripped)
            .map(|cert| {
                let compact = CompactPem::of(&cert.certificate);
                if compact.is_some() {
                    cert.certificate = String::new();
                }
                compact
            })
            .collect();
        // Modelled fields at their default (`""`, `[]`, `false`) are left out: they read back
        // as the same default. Unmodelled ones are kept whatever they hold.
        let mut value = serde_json::to_value(&stripped)?;
        if let Value::Object(fields) = &mut value {
            fields.retain(|name, v| connection.extra.contains_key(name) || !is_default(v));
        }
        Ok(Self {
            id: connection.connection_id.clone(),
            json: serde_json::to_string(&value)?.into_boxed_str(),
            pems,
        })
    }

    /// The connection as it was listed.
    pub fn connection(&self) -> Result<SamlConnection, serde_json::Error> {
        let mut connection: SamlConnection = serde_json::from_str(&self.json)?;
        for (cert, compact) in certificates(&mut connection).zip(self.pems.iter()) {
            if let Some(compact) = compact {
                cert.certificate = compact.pem();
            }
        }
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(der: &[u8], final_newline: bool) -> String {
        CompactPem {
            der: der.into(),
            final_newline,
        }
        .pem()
    }

    #[test]
    fn a_standard_pem_is_kept_as_der_and_given_back_byte_for_byte() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for final_newline in [true, false] {
            let text = pem(&der, final_newline);
            let compact = CompactPem::of(&text).expect("standard PEM");
            assert_eq!(&*compact.der, der.as_slice());
            assert_eq!(compact.pem(), text);
        }
        let text = pem(&der, true);
        assert!(text.lines().skip(1).take(5).all(|l| l.len() == 64));
    }

    #[test]
    fn any_other_text_is_not_compacted() {
        let der = [7u8; 100];
        let standard = pem(&der, true);
        let cases = [
            standard.replace('\n', "\r\n"),
            format!("{standard}{standard}"),
            format!(" {standard}"),
            standard.replace("CERTIFICATE", "PRIVATE KEY"),
            standard.replacen('\n', "", 2),
            "not a certificate".into(),
            String::new(),
            format!("{BEGIN}!!!!\n{END}\n"),
        ];
        for text in cases {
            assert_eq!(CompactPem::of(&text), None, "{text:?}");
        }
    }

    #[test]
    fn a_connection_comes_back_exactly_as_listed() {
        let standard = pem(&[1u8; 300], true);
        let odd = pem(&[2u8; 300], true).replace('\n', "\r\n");
        let first_line = |pem: &str| pem.lines().nth(1).map(str::to_owned).unwrap_or_default();
        let connection: SamlConnection = serde_json::from_value(serde_json::json!({
            "organization_id": "organization-test-1",
            "connection_id": "c-1",
            "signing_certificates": [{"certificate_id": "s-1", "certificate": standard}],
            "verification_certificates": [
                {"certificate_id": "v-1", "certificate": odd},
                {"certificate_id": "v-2", "certificate": standard},
            ],
            "an_unmodelled_field": [1, "two"],
            "an_empty_unmodelled_field": "",
            "another": false,
            "attribute_mapping": {},
            "idp_initiated_auth_disabled": true,
        }))
        .expect("connection");
        let compact = CompactConnection::new(&connection).expect("compact");
        assert_eq!(compact.id, "c-1");
        assert_eq!(
            compact.pems.iter().map(Option::is_some).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert!(!compact.json.contains(&first_line(&standard)));
        assert!(
            !compact.json.contains("alternative_acs_url"),
            "{}",
            compact.json
        );
        assert!(compact.json.contains("an_empty_unmodelled_field"));
        assert!(compact.json.contains(first_line(&odd).trim_end()));
        assert_eq!(compact.connection().expect("decodes"), connection);
    }
}
