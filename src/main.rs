//! `stytch-saml-operator` binary: wiring only.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use futures::FutureExt;
use stytch_saml_operator::{controller, gitops, operator, shutdown, telemetry};

#[derive(Parser)]
#[command(
    name = "stytch-saml-operator",
    version,
    about = "Manage Stytch B2B SAML connections from Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the SamlConnection CustomResourceDefinition as YAML.
    Crd,
    /// Print generated documentation: `reference` (fields) or `conditions` (reasons).
    Docs {
        #[arg(value_parser = ["reference", "conditions"])]
        which: String,
    },
    /// Run the operator: watch SamlConnections and keep Stytch equal to them.
    Run(Box<operator::RunArgs>),
    /// Show what applying SamlConnection manifests would change in Stytch (exit 0 = no
    /// changes, 2 = changes, 1 = errors).
    Diff(Box<gitops::DiffArgs>),
    /// Write SamlConnection manifests that adopt an organization's live connections.
    Import(Box<gitops::ImportArgs>),
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd => match stytch_saml_operator::api::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: cannot render the CRD: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Diff(args) => gitops::diff_command(&args).await,
        Command::Import(args) => gitops::import_command(&args).await,
        Command::Docs { which } => {
            let text = match which.as_str() {
                "reference" => stytch_saml_operator::docs::field_reference(),
                _ => stytch_saml_operator::docs::conditions_reference(),
            };
            print!("{text}");
            ExitCode::SUCCESS
        }
        Command::Run(args) => {
            telemetry::init(args.log_format);
            let (stop, stopped) = futures::channel::oneshot::channel::<()>();
            let in_flight = std::sync::Arc::new(controller::InFlight::default());
            let run = operator::run(*args, stopped.map(|_| ()), in_flight.clone());
            tokio::pin!(run);
            let result = tokio::select! {
                result = &mut run => result,
                () = shutdown::signal() => {
                    tracing::info!("shutting down");
                    let _ = stop.send(());
                    // Finish in-flight reconciles, but never wait past the grace period or a
                    // second signal, whatever state the process is in (an unreachable API
                    // server included: with nothing in flight, exit at once).
                    tokio::select! {
                        result = &mut run => result,
                        () = in_flight.idle() => Ok(()),
                        () = tokio::time::sleep(controller::SHUTDOWN_GRACE) => Ok(()),
                        () = shutdown::signal() => Ok(()),
                    }
                }
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(%err, "stytch-saml-operator failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
