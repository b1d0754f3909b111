//! `tsunagi witness …`: run a witness for the ward's log (or another C2SP log) — `keygen`,
//! `vkey`, `serve`. Needs no hub configuration.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use tsunagi::audit::cosignature::Cosigner;

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Make a new witness key: the private key goes to --out (mode 0600, never overwritten), the
    /// verifier key (to give to the hub's operators) to standard output.
    Keygen {
        /// The witness's name, a schema-less URL such as `witness.council.example/w1`.
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the verifier key of a witness key file.
    Vkey {
        #[arg(long)]
        key: PathBuf,
    },
    /// Serve `POST /add-checkpoint` (plain HTTP behind the organ's TLS proxy, or HTTPS with
    /// --tls-cert and --tls-key).
    Serve {
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: SocketAddr,
        #[arg(long)]
        key: PathBuf,
        /// The logs this witness follows (TOML: [[log]] origin, vkeys).
        #[arg(long)]
        logs: PathBuf,
        /// The state file (SQLite): the latest cosigned checkpoint per log.
        #[arg(long, default_value = "witness.db")]
        db: PathBuf,
        /// Serve HTTPS with this certificate chain (PEM)…
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// …and this private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
}

fn read_key(path: &Path) -> anyhow::Result<Cosigner> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Cosigner::from_skey(&text).with_context(|| format!("the witness key in {}", path.display()))
}

pub fn run(cmd: WitnessCommand) -> anyhow::Result<()> {
    match cmd {
        WitnessCommand::Keygen { name, out } => {
            let key = Cosigner::generate(&name)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("creating {} (an existing key is never overwritten)", out.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            writeln!(file, "{}", key.to_skey_string())?;
            file.sync_all()?;
            println!("{}", key.verifier().to_vkey_string());
            Ok(())
        }
        WitnessCommand::Vkey { key } => {
            println!("{}", read_key(&key)?.verifier().to_vkey_string());
            Ok(())
        }
        WitnessCommand::Serve {
            listen,
            key,
            logs,
            db,
            tls_cert,
            tls_key,
        } => {
            let cosigner = read_key(&key)?;
            let logs = tsunagi::witness::config::load(&logs)?;
            tsunagi::tls::install_crypto_provider();
            let tls = match (tls_cert, tls_key) {
                (Some(c), Some(k)) => Some(tsunagi::witness::server::tls_config(&c, &k)?),
                _ => None,
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let name = cosigner.name().to_owned();
                let witness = tsunagi::witness::state::Witness::open(&db, cosigner, logs).await?;
                let listener = std::net::TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
                let addr = listener.local_addr()?;
                let server =
                    tsunagi::witness::server::serve(listener, witness, Arc::new(tsunagi::clock::SystemClock), tls)?;
                println!("witness {name} listening on {scheme}://{addr}");
                std::io::stdout().flush()?;
                server.await.context("witness server")
            })
        }
    }
}
