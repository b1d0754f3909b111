//! The `tsunagi` command line: a thin layer over the library.

mod audit_cli;
mod witness_cli;

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
    /// Sharing-policy tools.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Retention (`policies/retention.toml`): delete the case-record sections whose retention
    /// period has ended, each after its log entry; erase persons left with nothing.
    Retention {
        /// Only count what would expire.
        #[arg(long)]
        dry_run: bool,
    },
    /// Notices pushed to agencies' systems: the outbox and its retries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Key-encryption keys: status and rotation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Take a consistent online copy of the SQLite database (with a manifest) into DIR, while
    /// the hub runs. PostgreSQL: use pg_dump (README → Operations).
    Backup { dir: PathBuf },
    /// Restore a backup into the configured (fresh) SQLite database; the log must verify before
    /// the database is moved into place.
    Restore { dir: PathBuf },
    /// Run a C2SP witness for the log (keygen, vkey, serve): another organ keeps the log's
    /// checkpoints and cosigns only consistent extensions.
    #[command(subcommand)]
    Witness(witness_cli::WitnessCommand),
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// The outbox, newest first (`--failing`: undelivered after `webhooks.alert_after_attempts`).
    List {
        #[arg(long)]
        failing: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Make an undelivered (or skipped) notice due now; every attempt stays recorded.
    Retry { id: String },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// How many data keys each key-encryption key wraps.
    Status,
    /// Re-wrap every data key under the current KEK (`keys.kek_file` / `keys.kek_id`), while
    /// the hub runs; the earlier KEKs must be listed in `keys.previous_keks`. Resumable: it
    /// only ever touches keys not yet under the current KEK.
    RotateKek {
        /// Data keys re-wrapped per statement batch.
        #[arg(long, default_value_t = 500)]
        batch: u32,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy directory (model.conf, policy.csv, bases.toml) and run its decision
    /// tables (cases/*.json). Exit 0 only when everything holds.
    Check {
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
    /// Write a stored policy version (default: the one in force) as model.conf + policy.csv.
    Export {
        #[arg(long)]
        version: Option<i64>,
        #[arg(long, default_value = "policy-export")]
        out: PathBuf,
    },
    /// Rules added and removed from FROM to TO; each is a stored version number or a directory.
    Diff { from: String, to: String },
}

async fn keys_command(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    let store = tsunagi::startup::open_store(config).await?;
    let result = async {
        match cmd {
            KeysCommand::Status => {
                println!("current KEK: {}", store.current_kek_id());
                for (id, n) in store.data_keys_by_kek().await? {
                    println!("{id}: {n} data keys");
                }
            }
            KeysCommand::RotateKek { batch } => {
                let total: u64 = store
                    .data_keys_by_kek()
                    .await?
                    .iter()
                    .filter(|(id, _)| id != store.current_kek_id())
                    .map(|(_, n)| n)
                    .sum();
                let mut done = 0u64;
                loop {
                    let n = store.rewrap_data_keys(batch.max(1)).await?;
                    if n == 0 {
                        break;
                    }
                    done += n;
                    eprint!("\r{}", tsunagi::startup::progress_line(done, total.max(done)));
                }
                eprintln!();
                println!(
                    "re-wrapped {done} data keys under {}; every data key is now under it: remove keys.previous_keks",
                    store.current_kek_id()
                );
            }
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    store.close().await;
    result
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

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// A policy from a stored version number or a policy directory.
async fn policy_from(config: &Config, what: &str) -> anyhow::Result<tsunagi::policy::PolicySet> {
    match what.parse::<i64>() {
        Ok(version) => {
            let store = tsunagi::startup::open_store(config).await?;
            let set = tsunagi::policy::PolicySet::from_store(&store, version).await?;
            store.close().await;
            Ok(set)
        }
        Err(_) => Ok(tsunagi::policy::PolicySet::load_dir(std::path::Path::new(what)).await?),
    }
}

fn policy_command(cmd: PolicyCommand, config_path: Option<&std::path::Path>) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Check { dir } => runtime()?.block_on(async move {
            let set = tsunagi::policy::PolicySet::load_dir(&dir).await?;
            tsunagi::policy::bases::BasesConfig::load_dir(&dir)?;
            let report = tsunagi::policy::cases::run_cases(&set, &dir.join("cases")).map_err(|e| anyhow::anyhow!(e))?;
            println!(
                "{}: {} rules valid (version {}); {} policy cases, {} precondition cases, {} decision cases",
                dir.display(),
                set.rules().len(),
                set.version(),
                report.policy_cases,
                report.precondition_cases,
                report.decision_cases
            );
            if report.failures.is_empty() {
                println!("all decision tables hold");
                Ok(())
            } else {
                for f in &report.failures {
                    println!("FAIL {f}");
                }
                anyhow::bail!("{} decision-table cases do not hold", report.failures.len())
            }
        }),
        PolicyCommand::Export { version, out } => {
            let config = load_config(config_path)?;
            runtime()?.block_on(async move {
                let store = tsunagi::startup::open_store(&config).await?;
                let version = match version {
                    Some(v) => v,
                    None => store.policy_head().await?.ok_or_else(|| anyhow::anyhow!("no policy stored yet"))?,
                };
                let row = store.policy_version(version).await?.ok_or_else(|| anyhow::anyhow!("no policy version {version}"))?;
                std::fs::create_dir_all(&out)?;
                std::fs::write(out.join("model.conf"), &row.model)?;
                let header = format!(
                    "# Tsunagi sharing policy, version {version} ({}, by {}: {})\n# p, role, agency, action, object, allow|deny\n",
                    row.kind, row.author, row.reason
                );
                std::fs::write(out.join("policy.csv"), format!("{header}{}", row.rules))?;
                store.close().await;
                println!("policy version {version} written to {}", out.display());
                Ok(())
            })
        }
        PolicyCommand::Diff { from, to } => {
            let config = load_config(config_path)?;
            runtime()?.block_on(async move {
                let a = policy_from(&config, &from).await?;
                let b = policy_from(&config, &to).await?;
                let (added, removed) = tsunagi::policy::admin::diff(a.rules(), b.rules());
                for r in &removed {
                    println!("- {r}");
                }
                for r in &added {
                    println!("+ {r}");
                }
                println!("{} added, {} removed", added.len(), removed.len());
                Ok(())
            })
        }
    }
}

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("configuration: {e}"))
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Policy(cmd) => policy_command(cmd, cli.config.as_deref()),
        Command::Witness(cmd) => {
            let _guard = tsunagi::telemetry::init(tsunagi::config::LogFormat::Pretty, "info")?;
            witness_cli::run(cmd)
        }
        Command::Serve => {
            let config = load_config(cli.config.as_deref())?;
            let _guard = tsunagi::telemetry::init(config.log_format, &config.log_level)?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let dev_login = tsunagi::console::session::ConsoleSettings::from_config(&config).dev_login;
            let oidc_issuer = config.console.oidc.as_ref().map(|o| o.issuer.clone());
            rt.block_on(async move {
                let app = tsunagi::startup::Application::build(config).await?;
                println!("Console: https://localhost:{}/console/", app.port());
                if dev_login {
                    println!(
                        "  Log in with the development login: your browser must present an agency's client \
                         certificate (certs-dev/clients/<agency>.pem with its .key; trust certs-dev/ca.pem), \
                         then pick a user id and a role. See README → Console."
                    );
                }
                match &oidc_issuer {
                    Some(issuer) => println!("  Log in at the ward's identity provider (OpenID Connect): {issuer}"),
                    None if !dev_login => {
                        println!("  No console login is configured: set [console.oidc] (see README → Configuration).")
                    }
                    None => {}
                }
                app.run_until_stopped().await.context("server")
            })
        }
        Command::Retention { dry_run } => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?
                .block_on(tsunagi::startup::apply_retention(&config, dry_run))
                .map(|o| {
                    let verb = if dry_run { "would expire" } else { "expired" };
                    println!(
                        "{verb} {} sections in {} records and {} team notes on {} plans; {} persons erased (nothing left about them)",
                        o.sections_expired, o.records_touched, o.notes_expired, o.plans_touched, o.subjects_erased
                    );
                })
        }
        Command::Webhooks(cmd) => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?.block_on(async move {
                let store = tsunagi::startup::open_store(&config).await?;
                let result = match cmd {
                    WebhooksCommand::List { failing, limit } => {
                        let after = failing.then_some(i64::from(config.webhooks.alert_after_attempts));
                        for w in store.webhooks(after, limit).await? {
                            println!(
                                "{}\t{}\t{}\t{}\tattempts {}\t{}",
                                w.id,
                                w.agency,
                                w.event_type,
                                w.state,
                                w.attempts,
                                w.last_error.unwrap_or_default()
                            );
                        }
                        Ok(())
                    }
                    WebhooksCommand::Retry { id } => {
                        let now = tsunagi::clock::Clock::now(&tsunagi::clock::SystemClock);
                        if store.retry_webhook(&id, tsunagi::store::to_ms(now)).await? {
                            println!("{id} is due now");
                            Ok(())
                        } else {
                            Err(anyhow::anyhow!("no undelivered webhook {id}"))
                        }
                    }
                };
                store.close().await;
                result
            })
        }
        Command::Keys(cmd) => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?.block_on(keys_command(&config, cmd))
        }
        Command::Backup { dir } => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?.block_on(async move {
                let now = tsunagi::clock::Clock::now(&tsunagi::clock::SystemClock);
                let m = tsunagi::backup::backup_configured(&config, &dir, now).await?;
                println!(
                    "backed up {} bytes (SHA-256 {}) with {} log entries (latest checkpoint: {}) to {}",
                    m.database_bytes,
                    m.database_sha256,
                    m.log_entries,
                    m.checkpoint_size
                        .map_or_else(|| "none".to_owned(), |s| format!("size {s}")),
                    dir.display()
                );
                Ok(())
            })
        }
        Command::Restore { dir } => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?.block_on(async move {
                let r = tsunagi::backup::restore(&config, &dir).await?;
                println!(
                    "restored {} log entries (root {}) into {}; the log verifies",
                    r.log_entries,
                    r.root_hex,
                    r.path.display()
                );
                Ok(())
            })
        }
        Command::Migrate => {
            let config = load_config(cli.config.as_deref())?;
            let _guard = tsunagi::telemetry::init(config.log_format, &config.log_level)?;
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let store = tsunagi::startup::open_store(&config).await?;
                store.close().await;
                println!(
                    "migrations applied to {}",
                    tsunagi::config::redact_database_url(&config.database_url)
                );
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
            let now = tsunagi::clock::Clock::now(&tsunagi::clock::SystemClock).unix_timestamp();
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
