//! `sandbox` binary: wiring only.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sandbox",
    version,
    about = "Local Stytch and Kubernetes API emulators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Stytch B2B SAML connection API emulator.
    Stytch(sandbox::stytch::cli::Args),
    /// Serve the in-memory Kubernetes API server emulator.
    Kube(sandbox::kube::cli::Args),
    /// Run the operator against both sandboxes and reconcile examples/ (the quickstart).
    Demo(sandbox::demo::Args),
    /// Benchmark the release operator binary against both sandboxes (BENCHMARKS.md).
    Bench(sandbox::bench::Args),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Stytch(args) => sandbox::stytch::cli::run(args).await,
        Command::Kube(args) => sandbox::kube::cli::run(args).await,
        Command::Demo(args) => sandbox::demo::run(args).await,
        Command::Bench(args) => sandbox::bench::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
