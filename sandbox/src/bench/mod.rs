//! `sandbox bench`: the benchmark harness (issue #7).
//!
//! For each N: both sandboxes start (M organizations, Stytch per-project rate limit R), the
//! **release operator binary** runs as a child process, and the harness measures
//!
//! 1. idle RSS/CPU of the operator with no resources;
//! 2. convergence of N resources created at once (per-resource and total time to `Ready`,
//!    Stytch calls by endpoint and status, the floor R sets);
//! 3. single-resource create → `Ready` latency (sequential samples);
//! 4. steady state: a fresh operator process with a short resync interval over the converged
//!    resources, K cycles (lists and writes per cycle from the sandbox log, CPU per no-op
//!    reconcile from `/proc` and `/metrics`), peak RSS;
//! 5. the naive baseline (list + full update per resource per cycle) on the same sandboxes.
//!
//! It prints a table and writes JSON. See BENCHMARKS.md.

pub mod baseline;
pub mod env;
mod phases;
pub mod process;
pub mod report;

use std::path::PathBuf;

use env::Mode;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Flags of `sandbox bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Resource counts to run, one full run each (comma-separated).
    #[arg(long = "n", value_delimiter = ',', default_value = "1,100,1000")]
    pub counts: Vec<usize>,
    /// Organizations; default min(100, ceil(N/10)).
    #[arg(long)]
    pub orgs: Option<usize>,
    /// Stytch sandbox rate limit, requests per second per project (0 = none).
    #[arg(long = "rate-limit", default_value_t = 50)]
    pub rate_limit: u32,
    /// The operator's --stytch-rate-limit; default R (above R shows 429s being retried).
    #[arg(long)]
    pub operator_rate_limit: Option<f64>,
    /// Latency injected into every Stytch call, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Rate limit (sandbox, operator and baseline) during the steady-state and baseline
    /// cycles; default R.
    #[arg(long)]
    pub steady_rate_limit: Option<u32>,
    /// Steady-state resync cycles measured.
    #[arg(long, default_value_t = 3)]
    pub cycles: usize,
    /// Resync interval of the steady-state operator (e.g. 10s); default by N.
    #[arg(long)]
    pub resync_interval: Option<String>,
    /// Naive baseline cycles (0 = skip the baseline).
    #[arg(long, default_value_t = 1)]
    pub baseline_cycles: usize,
    /// Single-resource create → Ready samples, after convergence.
    #[arg(long, default_value_t = 50)]
    pub latency_samples: usize,
    /// From this N on, resources adopt pre-seeded connections (spec.connectionId) instead of
    /// creating new ones.
    #[arg(long, default_value_t = 5000)]
    pub adopt_from: usize,
    /// Operator --concurrency (and the baseline's).
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Concurrent creates sent to the Kubernetes sandbox.
    #[arg(long, default_value_t = 16)]
    pub create_concurrency: usize,
    /// Bound of every wait, seconds.
    #[arg(long, default_value_t = 1800)]
    pub timeout_secs: u64,
    /// The operator binary; default: `stytch-saml-operator` next to this executable.
    #[arg(long)]
    pub operator_bin: Option<PathBuf>,
    /// Where to write the JSON results (operator logs go next to it).
    #[arg(long, default_value = "target/bench/bench.json")]
    pub json: PathBuf,
}

impl Args {
    fn orgs_for(&self, n: usize) -> usize {
        self.orgs.unwrap_or_else(|| n.div_ceil(10).clamp(1, 100))
    }

    fn mode_for(&self, n: usize) -> Mode {
        if n >= self.adopt_from {
            Mode::Adopt
        } else {
            Mode::Create
        }
    }

    fn resync_for(&self, n: usize) -> String {
        self.resync_interval.clone().unwrap_or_else(|| {
            match n {
                0..=100 => "5s",
                101..=2000 => "10s",
                _ => "30s",
            }
            .to_owned()
        })
    }
}

/// Runs the benchmark for every N, prints the table and writes the JSON.
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    run_all(args)
        .await
        .map_err(|e| e as Box<dyn std::error::Error>)
}

async fn run_all(args: Args) -> Result<(), BoxError> {
    let binary = process::find_binary(args.operator_bin.as_deref())?;
    let dir = args
        .json
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir)?;
    eprintln!("operator binary: {}", binary.display());
    let mut runs = Vec::new();
    for &n in &args.counts {
        let plan = phases::Plan {
            n,
            orgs: args.orgs_for(n),
            mode: args.mode_for(n),
            resync: args.resync_for(n),
            binary: binary.clone(),
            log_dir: dir.clone(),
        };
        eprintln!(
            "== N={n}, M={}, {:?}, R={}/s ==",
            plan.orgs, plan.mode, args.rate_limit
        );
        let result = phases::run_one(&args, &plan).await?;
        runs.push(result);
        std::fs::write(&args.json, serde_json::to_string_pretty(&runs)?)?;
    }
    report::print_table(&runs);
    eprintln!("JSON written to {}", args.json.display());
    Ok(())
}
