//! Results of one benchmark run (serialized to JSON) and the printed table.

use std::collections::BTreeMap;

use super::baseline::BaselineCycle;
use super::env::Mode;
use super::process::ProcSample;

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `ms`.
    pub fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| -> f64 {
            if ms.is_empty() {
                return 0.0;
            }
            let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
            ms[i]
        };
        Self {
            samples: ms.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// N new resources applied at once.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Convergence {
    /// Seconds to create the N objects in the Kubernetes sandbox (CEL validation included).
    pub kube_create_seconds: f64,
    /// First create sent → last resource Ready.
    pub total_seconds: f64,
    /// Per resource: its create sent → it was seen Ready.
    pub per_resource: Latency,
    pub ready: usize,
    pub all_ready: bool,
    pub calls_by_endpoint: BTreeMap<String, u64>,
    pub calls_by_status: BTreeMap<String, u64>,
    /// Calls answered other than 429.
    pub calls_served: u64,
    pub status_429: u64,
    /// calls_served ÷ R: the floor the rate limit sets for the calls the operator made.
    pub floor_seconds: f64,
    pub ratio_to_floor: f64,
    /// Calls strictly needed (creates + updates, or one list per organization when adopting) ÷ R.
    pub min_floor_seconds: f64,
    pub ratio_to_min_floor: f64,
    /// Reconciles that ended in an error (e.g. a 429 that outlived the client's retries).
    pub reconcile_errors: f64,
}

/// One steady-state resync cycle, from the Stytch sandbox log.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Cycle {
    /// Get-SSO-Connections calls served (429 answers not included).
    pub lists: u64,
    /// Calls answered 429 (retried by the client).
    pub status_429: u64,
    pub writes: u64,
    pub total_calls: u64,
    /// First to last Stytch call of the cycle.
    pub busy_seconds: f64,
}

/// Steady state after convergence: a fresh operator process over the converged resources.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Steady {
    pub resources: usize,
    pub resync_interval_seconds: f64,
    /// The round the fresh process makes at start (initial list of the watch).
    pub startup: Cycle,
    pub cycles: Vec<Cycle>,
    pub reconciles: f64,
    pub cpu_seconds: f64,
    pub cpu_ms_per_reconcile: f64,
}

/// Everything measured for one N.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunResult {
    pub n: usize,
    pub orgs: usize,
    pub mode: Option<Mode>,
    pub rate_limit: u32,
    pub operator_rate_limit: f64,
    pub latency_ms: u64,
    pub idle: ProcSample,
    pub convergence: Convergence,
    pub single: Latency,
    /// Convergence process after convergence and the latency samples.
    pub at_n: ProcSample,
    /// Steady-state process after its cycles.
    pub at_n_steady: ProcSample,
    pub peak_rss_mib: f64,
    pub steady: Steady,
    pub baseline: Vec<BaselineCycle>,
    /// baseline ÷ operator, per cycle.
    pub ratio_calls: f64,
    pub ratio_writes: String,
    pub ratio_seconds: f64,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

impl RunResult {
    /// Fills the baseline ratios from the cycles.
    pub fn compute_ratios(&mut self) {
        let op_calls = mean(self.steady.cycles.iter().map(|c| c.total_calls as f64));
        let op_writes = mean(self.steady.cycles.iter().map(|c| c.writes as f64));
        let op_secs = mean(self.steady.cycles.iter().map(|c| c.busy_seconds));
        let b_calls = mean(self.baseline.iter().map(|c| c.total_calls as f64));
        let b_writes = mean(self.baseline.iter().map(|c| c.writes as f64));
        let b_secs = mean(self.baseline.iter().map(|c| c.seconds));
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        self.ratio_calls = div(b_calls, op_calls);
        self.ratio_seconds = div(b_secs, op_secs);
        self.ratio_writes = if self.baseline.is_empty() {
            "n/a".into()
        } else if op_writes == 0.0 {
            format!("{b_writes:.0} vs 0")
        } else {
            format!("{:.1}x", b_writes / op_writes)
        };
    }
}

/// Prints the table of all runs.
pub fn print_table(runs: &[RunResult]) {
    let cols: Vec<String> = runs.iter().map(|r| format!("N={}", r.n)).collect();
    let row = |label: &str, f: &dyn Fn(&RunResult) -> String| {
        let cells: Vec<String> = runs.iter().map(|r| format!("{:>16}", f(r))).collect();
        println!("{label:<44}{}", cells.join(""));
    };
    let header: Vec<String> = cols.iter().map(|c| format!("{c:>16}")).collect();
    println!("{:<44}{}", "", header.join(""));
    row("organizations (M) / mode", &|r| {
        format!("{} / {:?}", r.orgs, r.mode.unwrap_or(Mode::Create))
    });
    row("kube create of N objects, s", &|r| {
        format!("{:.1}", r.convergence.kube_create_seconds)
    });
    row("convergence total, s", &|r| {
        format!("{:.1}", r.convergence.total_seconds)
    });
    row("  per resource p50 / p99, ms", &|r| {
        let l = &r.convergence.per_resource;
        format!("{:.0} / {:.0}", l.p50_ms, l.p99_ms)
    });
    row("  creates / updates / lists", &|r| {
        let e = |k: &str| r.convergence.calls_by_endpoint.get(k).copied().unwrap_or(0);
        format!(
            "{} / {} / {}",
            e("create_connection"),
            e("update_connection"),
            e("get_connections")
        )
    });
    row("  Stytch calls served / 429s", &|r| {
        format!(
            "{} / {}",
            r.convergence.calls_served, r.convergence.status_429
        )
    });
    row("  floor (served ÷ R), s / ratio", &|r| {
        format!(
            "{:.1} / {:.2}x",
            r.convergence.floor_seconds, r.convergence.ratio_to_floor
        )
    });
    row("  min floor (needed ÷ R), s / ratio", &|r| {
        format!(
            "{:.1} / {:.2}x",
            r.convergence.min_floor_seconds, r.convergence.ratio_to_min_floor
        )
    });
    row("  all Ready / reconcile errors", &|r| {
        format!(
            "{} / {:.0}",
            r.convergence.all_ready, r.convergence.reconcile_errors
        )
    });
    row("single apply→Ready p50 / p99, ms", &|r| {
        format!("{:.0} / {:.0}", r.single.p50_ms, r.single.p99_ms)
    });
    row("steady: lists per cycle (max)", &|r| {
        let max = r.steady.cycles.iter().map(|c| c.lists).max().unwrap_or(0);
        format!("{max}")
    });
    row("steady: 429s in all cycles (retried)", &|r| {
        format!(
            "{}",
            r.steady.cycles.iter().map(|c| c.status_429).sum::<u64>()
        )
    });
    row("steady: writes in all cycles", &|r| {
        format!("{}", r.steady.cycles.iter().map(|c| c.writes).sum::<u64>())
    });
    row("steady: busy s per cycle (mean)", &|r| {
        format!(
            "{:.2}",
            mean(r.steady.cycles.iter().map(|c| c.busy_seconds))
        )
    });
    row("CPU per no-op reconcile, ms", &|r| {
        format!("{:.3}", r.steady.cpu_ms_per_reconcile)
    });
    row("RSS idle (VmHWM), MiB", &|r| {
        format!("{:.1}", r.idle.hwm_mib)
    });
    row("RSS peak at N (VmHWM), MiB", &|r| {
        format!("{:.1}", r.peak_rss_mib)
    });
    row("CPU s: convergence proc / steady proc", &|r| {
        format!(
            "{:.1} / {:.1}",
            r.at_n.cpu_seconds, r.at_n_steady.cpu_seconds
        )
    });
    row(
        "baseline: calls / writes per cycle",
        &|r| match r.baseline.first() {
            Some(b) => format!("{} / {}", b.total_calls, b.writes),
            None => "n/a".into(),
        },
    );
    row("baseline÷operator: calls / seconds", &|r| {
        let secs = if r.ratio_seconds > 0.0 {
            format!("{:.1}x", r.ratio_seconds)
        } else {
            "n/a".into()
        };
        format!("{:.1}x / {secs}", r.ratio_calls)
    });
    row("baseline÷operator: writes", &|r| r.ratio_writes.clone());
}
