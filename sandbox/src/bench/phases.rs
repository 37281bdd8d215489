//! The phases of one benchmark run (one N): idle, convergence, single-resource latency,
//! steady state with a fresh operator process, naive baseline.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use super::baseline::{self, Target};
use super::env::{self, BenchEnv, Mode, ReadyLog};
use super::process::{OperatorProcess, OperatorSpec};
use super::report::{Convergence, Cycle, Latency, RunResult, Steady};
use super::{Args, BoxError};
use crate::stytch::FaultRule;

const RECONCILES: &str = "stytch_saml_operator_reconciles_total";

/// What to run for one N.
pub struct Plan {
    pub n: usize,
    pub orgs: usize,
    pub mode: Mode,
    pub resync: String,
    pub binary: PathBuf,
    pub log_dir: PathBuf,
}

fn operator_rate(limit: u32) -> f64 {
    if limit == 0 {
        100_000.0
    } else {
        f64::from(limit)
    }
}

/// Runs every phase for one N.
pub async fn run_one(args: &Args, plan: &Plan) -> Result<RunResult, BoxError> {
    let timeout = Duration::from_secs(args.timeout_secs);
    let r = args.rate_limit;
    let env = BenchEnv::start(plan.orgs, r, plan.mode, plan.n).await?;
    let admin = env.stytch.admin();
    if args.latency_ms > 0 {
        admin.add_fault(FaultRule {
            path: "/v1/".into(),
            latency_ms: args.latency_ms,
            ..FaultRule::default()
        });
    }
    let (ready, watch) = ReadyLog::watch(env.api.clone());
    let mut result = RunResult {
        n: plan.n,
        orgs: plan.orgs,
        mode: Some(plan.mode),
        rate_limit: r,
        operator_rate_limit: args.operator_rate_limit.unwrap_or(operator_rate(r)),
        latency_ms: args.latency_ms,
        ..RunResult::default()
    };
    let kubeconfig = env.kube.kubeconfig_path().to_owned();
    let base_url = env.stytch.base_url().to_owned();
    let spec = |resync: &str, rate: f64, tag: &str| OperatorSpec {
        binary: plan.binary.clone(),
        kubeconfig: kubeconfig.clone(),
        stytch_base_url: base_url.clone(),
        resync_interval: resync.to_owned(),
        rate_limit: rate,
        concurrency: args.concurrency,
        log_file: plan.log_dir.join(format!("operator-n{}-{tag}.log", plan.n)),
    };

    // 1. Idle.
    let op = OperatorProcess::start(spec("1h", result.operator_rate_limit, "converge")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    result.idle = op.sample()?;
    eprintln!("idle: {:?}", result.idle);

    // 2. Convergence.
    admin.clear_requests();
    let t0 = Instant::now();
    let created = env
        .create_many(0..plan.n, plan.mode, args.create_concurrency)
        .await?;
    let mut conv = Convergence {
        kube_create_seconds: t0.elapsed().as_secs_f64(),
        ..Convergence::default()
    };
    eprintln!(
        "created {} objects in {:.1}s",
        plan.n, conv.kube_create_seconds
    );
    conv.all_ready = ready
        .wait_count(plan.n, timeout, Duration::from_millis(20))
        .await;
    let seen = ready.snapshot();
    let mut per = Vec::new();
    let mut last = t0;
    for (name, sent) in &created {
        if let Some(at) = seen.get(name) {
            per.push(at.saturating_duration_since(*sent).as_secs_f64() * 1000.0);
            last = last.max(*at);
        }
    }
    conv.ready = per.len();
    conv.per_resource = Latency::of(per);
    conv.total_seconds = last.saturating_duration_since(t0).as_secs_f64();
    let counters = admin.counters();
    conv.status_429 = counters.by_status.get("429").copied().unwrap_or(0);
    conv.calls_served = counters.total - conv.status_429;
    conv.calls_by_endpoint = counters.by_endpoint;
    conv.calls_by_status = counters.by_status;
    let needed = match plan.mode {
        Mode::Create => 2 * plan.n,
        Mode::Adopt => plan.orgs,
    };
    if r > 0 {
        conv.floor_seconds = conv.calls_served as f64 / f64::from(r);
        conv.min_floor_seconds = needed as f64 / f64::from(r);
        conv.ratio_to_floor = conv.total_seconds / conv.floor_seconds.max(1e-9);
        conv.ratio_to_min_floor = conv.total_seconds / conv.min_floor_seconds.max(1e-9);
    }
    conv.reconcile_errors = op.sum(RECONCILES, &["result=\"error\""]).await?;
    eprintln!(
        "converged: {}/{} Ready in {:.1}s, calls {:?}",
        conv.ready, plan.n, conv.total_seconds, conv.calls_by_status
    );
    result.convergence = conv;

    // 3. Single resource create → Ready, one at a time.
    let mut single = Vec::new();
    for i in plan.n..plan.n + args.latency_samples {
        let sent = Instant::now();
        env.create(i, Mode::Create).await?;
        let name = env::name(i);
        let deadline = sent + Duration::from_secs(30);
        let at = loop {
            if let Some(at) = ready.get(&name) {
                break at;
            }
            if Instant::now() > deadline {
                return Err(format!("{name} not Ready within 30 s").into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        single.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
    }
    result.single = Latency::of(single);
    result.at_n = op.sample()?;
    op.stop().await?;
    watch.abort();

    // 4. Steady state: a fresh process, K resync cycles.
    let steady_limit = args.steady_rate_limit.unwrap_or(r);
    admin.set_rate_limit(steady_limit, None);
    admin.clear_faults();
    let total = plan.n + args.latency_samples;
    result.steady = steady(
        args,
        spec(&plan.resync, operator_rate(steady_limit), "steady"),
        &env,
        total,
        &mut result.at_n_steady,
    )
    .await?;
    result.peak_rss_mib = result.at_n.hwm_mib.max(result.at_n_steady.hwm_mib);

    // 5. Naive baseline on the same sandboxes.
    if args.baseline_cycles > 0 {
        let targets: Vec<Target> = env
            .api
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter_map(|o| {
                Some(Target {
                    connection_id: o.status.as_ref()?.connection_id.clone()?,
                    organization: o.spec.organization_id.clone(),
                    display_name: o.spec.display_name.clone().unwrap_or_default(),
                })
            })
            .collect();
        result.baseline = baseline::run(
            &env.stytch,
            &targets,
            &env.cert,
            operator_rate(steady_limit),
            usize::from(args.concurrency),
            args.baseline_cycles,
            timeout,
        )
        .await?;
        eprintln!("baseline: {:?}", result.baseline);
    }
    result.compute_ratios();
    Ok(result)
}

/// Starts the steady-state operator, waits for its start-up round and K resync cycles, and
/// buckets the sandbox log by tick.
async fn steady(
    args: &Args,
    spec: OperatorSpec,
    env: &BenchEnv,
    total: usize,
    sample: &mut super::process::ProcSample,
) -> Result<Steady, BoxError> {
    let admin = env.stytch.admin();
    let interval = stytch_saml_operator::operator::parse_duration(&spec.resync_interval)?;
    admin.clear_requests();
    let spawned = Timestamp::now();
    let started = Instant::now();
    let op = OperatorProcess::start(spec).await?;
    let deadline = started + Duration::from_secs(args.timeout_secs);
    let startup_done = loop {
        if op.sum(RECONCILES, &[]).await? >= total as f64 {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            return Err("steady-state operator did not finish its start-up round".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if startup_done > interval / 2 {
        eprintln!(
            "warning: start-up round took {startup_done:?}, more than half the resync interval {interval:?}; cycles may overlap (raise --resync-interval)"
        );
    }
    let before = op.sample()?;
    let rec0 = op.sum(RECONCILES, &[]).await?;
    let k = args.cycles as u32;
    let end = started + interval * k + interval / 2;
    tokio::time::sleep_until(end).await;
    let after = op.sample()?;
    let rec1 = op.sum(RECONCILES, &[]).await?;
    *sample = after;
    op.stop().await?;
    let mut cycles: Vec<Cycle> = vec![Cycle::default(); args.cycles + 1];
    let mut spans: Vec<(f64, f64)> = vec![(f64::MAX, f64::MIN); args.cycles + 1];
    let i = interval.as_secs_f64();
    for e in admin.requests() {
        let Ok(ts) = e.timestamp.parse::<Timestamp>() else {
            continue;
        };
        let t = ts.duration_since(spawned).as_secs_f64();
        let bucket = ((t + i / 2.0) / i).floor().max(0.0) as usize;
        let (Some(c), Some(span)) = (cycles.get_mut(bucket), spans.get_mut(bucket)) else {
            continue;
        };
        c.total_calls += 1;
        c.writes += u64::from(e.write);
        if e.status == 429 {
            c.status_429 += 1;
        } else {
            c.lists += u64::from(e.endpoint == "get_connections");
        }
        *span = (span.0.min(t), span.1.max(t));
    }
    for (c, (a, b)) in cycles.iter_mut().zip(spans) {
        c.busy_seconds = if b >= a { b - a } else { 0.0 };
    }
    let startup = cycles.remove(0);
    let reconciles = rec1 - rec0;
    let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
    eprintln!(
        "steady: start-up {startup:?}, cycles {cycles:?}, {reconciles} reconciles, {cpu_seconds:.2} CPU s"
    );
    Ok(Steady {
        resources: total,
        resync_interval_seconds: i,
        startup,
        cycles,
        reconciles,
        cpu_seconds,
        cpu_ms_per_reconcile: if reconciles > 0.0 {
            cpu_seconds * 1000.0 / reconciles
        } else {
            0.0
        },
    })
}
