//! The planner (`src/reconcile/desired.rs` + `src/reconcile/plan.rs`) on an arbitrary spec,
//! arbitrary referenced Secrets/ConfigMaps and metadata, and an arbitrary live connection.
//!
//! Invariants, checked by applying the planned calls to a model of Stytch:
//! - no panic; a valid spec has 1 to 5 explicit certificates;
//! - a plan does something exactly when it reports a difference;
//! - one certificate per upload call, every planned upload is made;
//! - deletes name certificates and keys the connection has;
//! - starting from at most 5 verification certificates, never more than 5 at any moment;
//!   starting from at least one, never zero;
//! - after the calls the connection is in sync: planning again gives an empty plan.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use stytch_saml_operator::api::SamlConnectionSpec;
use stytch_saml_operator::reconcile::certs::parse_certificate_any_time;
use stytch_saml_operator::reconcile::plan::MAX_VERIFICATION_CERTIFICATES;
use stytch_saml_operator::reconcile::{Call, DesiredIdp, plan, resolve};
use stytch_saml_operator_fuzz::planner_input::planner_input;
use stytch_saml_operator_fuzz::stytch_sim::{SimError, apply};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(input) = planner_input(&mut u) else {
        return;
    };
    let Ok(spec) = serde_json::from_value::<SamlConnectionSpec>(input.spec) else {
        return;
    };
    let Ok(mut desired) = resolve(&spec, &input.sources, input.now) else {
        return;
    };
    let mut served = None;
    match &mut desired.idp {
        DesiredIdp::MetadataUrl { metadata, .. } => {
            metadata.clone_from(&input.metadata);
            served = input.metadata;
        }
        DesiredIdp::Explicit {
            certificates: Some(certs),
            ..
        } => {
            assert!(
                (1..=MAX_VERIFICATION_CERTIFICATES).contains(&certs.len()),
                "{} certificates accepted",
                certs.len()
            );
        }
        _ => {}
    }
    let mut live = input.live;

    let first = plan(&desired, &live);
    assert_eq!(
        first.is_empty(),
        first.differences.is_empty(),
        "calls without a reported difference or the reverse: {first:#?}"
    );
    let start = live.verification_certificates.len();
    let start_certs: Vec<String> = live
        .verification_certificates
        .iter()
        .map(|c| {
            let print = parse_certificate_any_time(&c.certificate).map(|p| p.sha256);
            format!(
                "{}={}",
                c.certificate_id,
                print.as_deref().map_or("unparsable", |p| &p[..11])
            )
        })
        .collect();
    let calls = first.calls(start);
    assert_eq!(first.is_empty(), calls.is_empty());
    let uploads = calls
        .iter()
        .filter(|c| matches!(c, Call::Update(b) if b.x509_certificate.is_some()))
        .count();
    assert_eq!(
        uploads,
        first.upload_certificates.len(),
        "planned uploads not all made: {calls:#?}"
    );

    let mut next_id = 0;
    let mut modelled = true;
    for call in &calls {
        match apply(&mut live, call, served.as_ref(), &mut next_id) {
            Ok(()) => {}
            Err(SimError::UnmodelledSigningKey) => modelled = false,
            Err(err @ SimError::UnknownId(_)) => panic!("{err:?} in {calls:#?}"),
        }
        let count = live.verification_certificates.len();
        if start <= MAX_VERIFICATION_CERTIFICATES {
            assert!(
                count <= MAX_VERIFICATION_CERTIFICATES,
                "{count} certificates after {call:?}; live was {start_certs:?}; calls {calls:#?}"
            );
        }
        if start > 0 {
            assert!(
                count > 0,
                "the last certificate deleted by {call:?}; live was {start_certs:?}; calls {calls:#?}"
            );
        }
    }
    if modelled {
        let again = plan(&desired, &live);
        assert!(
            again.is_empty() && again.differences.is_empty(),
            "not in sync after {calls:#?}: {again:#?}"
        );
    }
});
