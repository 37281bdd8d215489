//! Fault matrix, Kubernetes side (issue #8): one row per fault of the Kubernetes sandbox, each
//! in its own sandboxes with its own operator, rows run concurrently. Three resources are Ready
//! first; then, while the fault repeats, another client edits every spec (new display names,
//! one resource gets a second certificate). Asserted per row: every resource converges, no
//! update of spec or status is lost (final spec = last edit, Stytch holds it,
//! `observedGeneration == generation`, the same connection id and every status field and
//! condition seen before the fault still there), no connection created twice, at most one
//! successful Stytch write per edit.
//!
//! `cargo test --test fault_matrix_kube -- --nocapture` prints the table.

#[path = "support/faults.rs"]
mod faults;
#[path = "support/probe.rs"]
mod probe;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use faults::*;
use sandbox::stytch::FaultRule;
use serde_json::json;
use support::*;

const CONNECTIONS: &str =
    "/apis/sso.stytch-operator.dev/v1alpha1/namespaces/default/samlconnections";
const NAMES: [&str; 3] = ["r-0", "r-1", "r-2"];

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// Every open watch closed on each tick.
    DropWatches,
    /// Each tick: the next watch answers `410 Gone`, then every watch is closed.
    GoneOnRewatch,
    /// Each tick: the next 2 status writes of every resource fail (500, 503 on the next tick).
    /// Every failed status write is a failed reconcile and doubles that resource's backoff,
    /// so the row keeps the failures per resource to 6: the last backoff is at most 32 s.
    StatusWrites5xx,
    /// No Kubernetes fault: the editor patches every 100 ms while Stytch calls take 300 ms.
    ConcurrentEdits,
    /// Each tick: a simulated API server restart (watches closed, resourceVersions compacted).
    Restart,
}

struct Row {
    name: &'static str,
    fault: Fault,
    tick: Duration,
    edits: usize,
    edit_every: Duration,
}

fn rows() -> Vec<Row> {
    let row = |name, fault, tick_ms, edits, every_ms| Row {
        name,
        fault,
        tick: Duration::from_millis(tick_ms),
        edits,
        edit_every: Duration::from_millis(every_ms),
    };
    vec![
        row("no fault (control)", Fault::None, 2_000, 6, 1_500),
        row(
            "watches dropped every 2 s",
            Fault::DropWatches,
            2_000,
            6,
            1_500,
        ),
        row(
            "410 Gone on every re-watch",
            Fault::GoneOnRewatch,
            2_000,
            6,
            1_500,
        ),
        row(
            "5xx on status writes",
            Fault::StatusWrites5xx,
            4_000,
            6,
            1_500,
        ),
        row(
            "concurrent edits during reconciles",
            Fault::ConcurrentEdits,
            1_000,
            60,
            100,
        ),
        row(
            "API server restart every 3 s",
            Fault::Restart,
            3_000,
            6,
            1_500,
        ),
    ]
}

struct Report {
    name: &'static str,
    edits: usize,
    fault_ticks: usize,
    window_secs: f64,
    converge_secs: f64,
    generations: Vec<i64>,
    requests: usize,
    creates: usize,
    max_writes_per_connection: usize,
    reconcile_errors: u64,
    lost_fields: Vec<String>,
}

/// The fault, once per tick, until `stop`.
async fn inject(
    env: Arc<Env>,
    fault: Fault,
    tick: Duration,
    stop: Arc<tokio::sync::Notify>,
) -> usize {
    let faults = env.kube.faults();
    let mut ticks = 0;
    loop {
        tokio::select! {
            () = stop.notified() => return ticks,
            () = tokio::time::sleep(tick) => {}
        }
        ticks += 1;
        match fault {
            Fault::None | Fault::ConcurrentEdits => {}
            Fault::DropWatches => faults.close_watches(),
            Fault::GoneOnRewatch => {
                faults.gone_next_watch();
                faults.close_watches();
            }
            Fault::StatusWrites5xx => {
                let status = if ticks % 2 == 0 { 503 } else { 500 };
                for name in NAMES {
                    let path = format!("{CONNECTIONS}/{name}/status");
                    faults.fail_next_method(2, "PATCH", &path, status);
                }
            }
            Fault::Restart => faults.simulate_restart(),
        }
    }
}

async fn run_row(row: Row) -> Report {
    let env = Env::new().await;
    let operator = ProbedOperator::start(&env, &[]).await;
    let env = Arc::new(env);
    let names: Vec<String> = NAMES.map(String::from).to_vec();
    let first_certs: Vec<String> = NAMES.iter().map(|n| cert(n)).collect();
    for (name, pem) in NAMES.iter().zip(&first_certs) {
        let mut spec = full_spec(&[pem]);
        spec["displayName"] = json!(format!("{name} v0"));
        env.apply(name, spec).await;
    }
    wait_converged(&env, &names).await;
    let mut before = Vec::new();
    for name in NAMES {
        let obj = env.api.get(name).await.unwrap();
        let id = obj.status.as_ref().and_then(|s| s.connection_id.clone());
        before.push((id, status_shape(&obj)));
    }
    let admin = env.stytch.admin();
    admin.clear_requests();
    if row.fault == Fault::ConcurrentEdits {
        admin.add_fault(FaultRule {
            path: "/v1/b2b/sso".into(),
            latency_ms: 300,
            ..Default::default()
        });
    }

    let stop = Arc::new(tokio::sync::Notify::new());
    let injector = tokio::spawn(inject(env.clone(), row.fault, row.tick, stop.clone()));
    let started = Instant::now();
    let extra = cert("r-0-second");
    for i in 1..=row.edits {
        for name in NAMES {
            let mut patch = json!({"displayName": format!("{name} v{i}")});
            if name == "r-0" && i == row.edits / 2 {
                patch["idp"] = json!({"certificates": [{"pem": first_certs[0]}, {"pem": extra}]});
            }
            env.patch_spec(name, patch).await;
        }
        tokio::time::sleep(row.edit_every).await;
    }
    stop.notify_one();
    let fault_ticks = injector.await.unwrap();
    env.kube.faults().clear();
    let window_secs = started.elapsed().as_secs_f64();
    wait_converged(&env, &names).await;
    let converge_secs = started.elapsed().as_secs_f64() - window_secs;
    admin.clear_faults();
    let metrics = operator.metrics().await;
    operator.stop().await;

    let mut generations = Vec::new();
    let mut lost_fields = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let obj = env.api.get(name).await.unwrap();
        let spec = serde_json::to_value(&obj.spec).unwrap();
        assert_eq!(
            spec["displayName"],
            json!(format!("{name} v{}", row.edits)),
            "{}: spec",
            row.name
        );
        let certs = if i == 0 { 2 } else { 1 };
        assert_eq!(
            spec["idp"]["certificates"].as_array().map(Vec::len),
            Some(certs)
        );
        let status = obj.status.as_ref().unwrap();
        assert_eq!(
            status.verification_certificates.len(),
            certs,
            "{}: {name}",
            row.name
        );
        assert_eq!(
            status.connection_id, before[i].0,
            "{}: {name} kept its connection",
            row.name
        );
        let (fields, types) = status_shape(&obj);
        let (old_fields, old_types) = &before[i].1;
        for f in old_fields.iter().filter(|f| !fields.contains(f)) {
            lost_fields.push(format!("{name}.status.{f}"));
        }
        for t in old_types.iter().filter(|t| !types.contains(t)) {
            lost_fields.push(format!("{name} condition {t}"));
        }
        generations.push(obj.metadata.generation.unwrap_or_default());
    }
    let log = env.requests();
    let live = env.connections();
    assert_eq!(live.len(), 3, "{}: one connection per resource", row.name);
    Report {
        name: row.name,
        edits: row.edits,
        fault_ticks,
        window_secs,
        converge_secs,
        generations,
        requests: log.len(),
        creates: log
            .iter()
            .filter(|e| e.endpoint == "create_connection")
            .count(),
        max_writes_per_connection: successful_writes_by_key(&log)
            .values()
            .copied()
            .max()
            .unwrap_or(0),
        reconcile_errors: reconcile_errors(&metrics),
        lost_fields,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_fault_matrix_converges_without_lost_updates() {
    let reports = run_rows(rows(), run_row).await;
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.name.to_owned(),
                r.fault_ticks.to_string(),
                format!("{:.1}", r.window_secs),
                format!("{:.1}", r.converge_secs),
                r.edits.to_string(),
                format!("{:?}", r.generations),
                r.requests.to_string(),
                r.creates.to_string(),
                r.max_writes_per_connection.to_string(),
                r.reconcile_errors.to_string(),
                r.lost_fields.len().to_string(),
            ]
        })
        .collect();
    print_table(
        "Kubernetes fault matrix (3 resources per row, every spec edited during the fault)",
        &[
            "row",
            "fault ticks",
            "window s",
            "converged after s",
            "edits/resource",
            "final generations",
            "Stytch requests",
            "creates",
            "max writes/connection",
            "reconcile errors",
            "lost status fields",
        ],
        &rows,
    );
    for r in &reports {
        assert!(
            r.lost_fields.is_empty(),
            "{}: lost {:?}",
            r.name,
            r.lost_fields
        );
        assert_eq!(r.creates, 0, "{}: a connection was created again", r.name);
        assert!(
            r.max_writes_per_connection <= r.edits,
            "{}: {} successful writes for {} edits",
            r.name,
            r.max_writes_per_connection,
            r.edits
        );
        assert!(
            r.generations.iter().all(|g| *g > r.edits as i64),
            "{}: every edit made a generation: {:?}",
            r.name,
            r.generations
        );
        if r.name != reports[0].name {
            assert!(r.fault_ticks > 0, "{}: the fault ran", r.name);
        }
    }
}
