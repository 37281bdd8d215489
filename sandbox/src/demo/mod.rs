//! `sandbox demo`: the operator reconciling `examples/` against both sandboxes, in one process.
//!
//! Starts the Kubernetes sandbox and the Stytch sandbox (seeded with the examples' project and
//! organizations), installs the CRD, serves the metadata-URL example's IdP metadata locally, runs
//! the real controller, applies every manifest in `examples/`, waits until each resource reaches
//! the state its comment promises, and prints what a user would look at.

mod env;
mod report;

use std::path::PathBuf;
use std::time::Duration;

pub use env::{DemoEnv, Expectation};

/// Arguments of `sandbox demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of example manifests.
    #[arg(long, default_value = "examples")]
    pub examples: PathBuf,
    /// Keep serving after the examples are ready, so you can explore with kubectl.
    #[arg(long)]
    pub serve: bool,
    /// How long to wait for the examples to reach their promised state.
    #[arg(long, default_value_t = 60)]
    pub timeout_seconds: u64,
}

/// Runs the demo; `Ok` once every example reached its promised state.
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let examples = if args.examples.is_dir() {
        args.examples.clone()
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples"))
    };
    let started = std::time::Instant::now();
    let mut env = DemoEnv::start().await?;
    env.start_operator()?;
    let applied = env.apply_examples(&examples).await?;
    println!(
        "applied {} objects from {}",
        applied.len(),
        examples.display()
    );
    let results = env
        .wait_for_examples(Duration::from_secs(args.timeout_seconds))
        .await?;
    print!("{}", report::table(&results));
    print!("{}", report::idp_instructions(&results));
    let failed: Vec<_> = results
        .iter()
        .filter(|r| !r.reached)
        .map(|r| r.name.clone())
        .collect();
    println!(
        "\n{} of {} examples reached their promised state in {:.1} s",
        results.len() - failed.len(),
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if args.serve {
        println!(
            "\nserving; explore with:\n  kubectl --kubeconfig {} get samlconnections\n  Stytch sandbox: {} (request log: {}/__sandbox/requests)\nCtrl-C to stop",
            env.kubeconfig().display(),
            env.stytch_url(),
            env.stytch_url()
        );
        stytch_saml_operator::shutdown::signal().await;
    }
    env.stop().await;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "examples not in their promised state: {}",
            failed.join(", ")
        )
        .into())
    }
}
