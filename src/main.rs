//! `stytch-saml-operator` binary: wiring only.

use clap::{Parser, Subcommand};

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
}

fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Crd => match stytch_saml_operator::api::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                std::process::ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: cannot render the CRD: {err}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
