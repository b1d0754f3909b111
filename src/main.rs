//! The `tsunagi` command line: a thin layer over the library.

mod audit_cli;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use tsunagi::config::Config;

#[derive(Parser)]
#[command(name = "tsunagi", version, about = "Secure inter-agency information-sharing hub")]
struct Cli {
    /// Configuration file (default: ./tsunagi.toml if it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Regenerate the development PKI and keys (DEVELOPMENT ONLY).
    DevCerts {
        #[arg(long, default_value = "certs-dev")]
        dir: PathBuf,
    },
    /// Mint a short-lived development token for a user (DEVELOPMENT ONLY).
    Token {
        #[arg(long)]
        user: String,
        #[arg(long)]
        agency: String,
        /// Repeat for several roles.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// The disclosure log: verify, checkpoint, export, proofs.
    Audit {
        #[command(subcommand)]
        command: audit_cli::AuditCommand,
    },
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("configuration: {e}"))
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => {
            let config = load_config(cli.config.as_deref())?;
            let _guard = tsunagi::telemetry::init(config.log_format, &config.log_level)?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let app = tsunagi::startup::Application::build(config).await?;
                app.run_until_stopped().await.context("server")
            })
        }
        Command::Migrate => {
            let config = load_config(cli.config.as_deref())?;
            let _guard = tsunagi::telemetry::init(config.log_format, &config.log_level)?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let store = tsunagi::startup::open_store(&config).await?;
                store.close().await;
                println!("migrations applied to {}", redact_url(&config.database_url));
                Ok(())
            })
        }
        Command::DevCerts { dir } => {
            tsunagi::tls::install_crypto_provider();
            tsunagi::devcerts::generate(&dir)?;
            println!(
                "development PKI and keys written to {} — DEVELOPMENT ONLY",
                dir.display()
            );
            Ok(())
        }
        Command::Token {
            user,
            agency,
            roles,
            ttl,
        } => {
            let config = load_config(cli.config.as_deref())?;
            let key = std::fs::read(&config.jwt.dev_signing_key)
                .with_context(|| format!("reading {}", config.jwt.dev_signing_key.display()))?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let claims = tsunagi::auth::dev_claims(
                &config.jwt.issuer,
                &config.jwt.audience,
                &user,
                &agency,
                &roles,
                ttl,
                now,
            );
            let token = tsunagi::auth::mint_token(&key, tsunagi::devcerts::DEV_JWT_KID, &claims)
                .map_err(|e| anyhow::anyhow!("minting the token: {e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Audit { command } => {
            tsunagi::tls::install_crypto_provider();
            if audit_cli::run(load_config(cli.config.as_deref()), command)? {
                Ok(())
            } else {
                anyhow::bail!("the log did not verify")
            }
        }
    }
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
