//! Builds the application from configuration: keys, store (migrated), policy, audit sequencer,
//! token verifier, TLS, and the HTTP server on its listener. `Application::build` binds its own
//! listener (port 0 picks a free port), so tests start real servers the way `serve` does.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;

use crate::audit::AuditLog;
use crate::audit::alerts::Alerts;
use crate::audit::checkpointer::Checkpointer;
use crate::audit::keys::LogKeys;
use crate::auth::JwtVerifier;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Environment};
use crate::crypto::keyfile::read_key;
use crate::crypto::{Kek, KekRing, Pseudonymizer};
use crate::http::PeerCertificate;
use crate::policy::PolicyEngine;
use crate::state::AppState;
use crate::store::Store;
use crate::tasks::BackgroundTasks;
use crate::tls::{self, TlsPaths};

/// The server and everything it runs: the background tasks are owned here and stopped when the
/// server stops ([`Application::run_until_stopped`]).
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    tasks: BackgroundTasks,
}

/// Refuses development keys in production; warns loudly about them otherwise.
pub fn check_key_material(config: &Config) -> anyhow::Result<()> {
    let dev = config.development_key_files();
    if dev.is_empty() {
        return Ok(());
    }
    let list = dev
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match config.environment {
        Environment::Production => anyhow::bail!(
            "refusing to start: environment = production but these files are DEVELOPMENT keys or certificates: {list}"
        ),
        Environment::Development => {
            tracing::warn!("!!! RUNNING WITH DEVELOPMENT KEYS AND CERTIFICATES — NOT FOR REAL CASE DATA !!! ({list})");
            Ok(())
        }
    }
}

/// Connects to the database and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = connect_store(config, &config.database_url, config.database_max_connections).await?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Connects to the database at `url` with the configured key-encryption key, without migrating
/// (the hub's own database: [`open_store`]; a backup copy: `backup`).
pub async fn connect_store(config: &Config, url: &str, max_connections: u32) -> anyhow::Result<Store> {
    let kek = kek_ring(config)?;
    let wait = std::time::Duration::from_millis(config.database_acquire_timeout_ms.max(1));
    Store::connect_with(url, Arc::new(kek), max_connections, wait)
        .await
        .context("connecting to the database")
}

/// The configured key-encryption keys: the current one and those kept for a rotation.
pub fn kek_ring(config: &Config) -> anyhow::Result<KekRing> {
    let load = |id: &str, file: &std::path::Path| -> anyhow::Result<Kek> {
        let bytes = read_key::<32>(file)?;
        Kek::from_bytes(id, &bytes).map_err(|e| anyhow::anyhow!("key-encryption key {id}: {e}"))
    };
    let current = load(&config.keys.kek_id, &config.keys.kek_file)?;
    let previous = config
        .keys
        .previous_keks
        .iter()
        .map(|k| load(&k.id, &k.file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    KekRing::new(current, previous).map_err(|_| anyhow::anyhow!("the key-encryption keys' ids must differ"))
}

/// A progress bar for a long command: `[#######-------------] 7,000 / 20,000 (35 %)`.
pub fn progress_line(done: u64, total: u64) -> String {
    const WIDTH: u64 = 30;
    let done = done.min(total);
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    format!(
        "[{}{}] {done} / {total} ({percent} %)",
        "#".repeat(usize::try_from(filled).unwrap_or(0)),
        "-".repeat(usize::try_from(WIDTH - filled).unwrap_or(0)),
    )
}

/// `tsunagi retention`: the configured retention rules applied now, as the hub itself
/// (the `system` role at the first ward-wide oversight agency) in the log.
pub async fn apply_retention(config: &Config, dry_run: bool) -> anyhow::Result<crate::retention::Outcome> {
    let rules = crate::retention::RetentionRules::load_dir(&config.policy_dir)?;
    let bases =
        crate::policy::bases::BasesConfig::load_dir(&config.policy_dir).context("loading policies/bases.toml")?;
    let store = open_store(config).await?;
    let agency = bases
        .oversight
        .ward_wide
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("retention acts as the ward: [oversight] ward_wide names no agency"))?;
    let organ = store
        .agencies()
        .await?
        .into_iter()
        .find(|a| a.id == agency)
        .map(|a| a.organ)
        .ok_or_else(|| anyhow::anyhow!("agency {agency} is not registered"))?;
    let actor = crate::principal::Principal {
        user: crate::domain::UserId::parse("tsunagi-retention")?,
        agency,
        organ,
        roles: vec![crate::domain::Role::System],
        cert_fingerprint: String::new(),
    };
    let pseudonyms = Pseudonymizer::new(&read_key::<32>(&config.keys.pseudonym_key_file)?);
    let tasks = BackgroundTasks::new();
    let audit = AuditLog::start(store.clone(), config.audit.max_batch, &tasks);
    let now = crate::clock::Clock::now(&SystemClock);
    let result = crate::retention::apply(&store, &audit, &pseudonyms, &rules, &actor, now, dry_run).await;
    tasks.stop().await;
    store.close().await;
    result
}

/// Refuses a configuration that cannot unwrap every stored data key (a KEK changed without a
/// rotation, or a previous KEK dropped before the rotation finished).
async fn check_keks(store: &Store) -> anyhow::Result<()> {
    let held = store.kek_ids();
    for (id, n) in store.data_keys_by_kek().await? {
        if !held.contains(&id.as_str()) {
            anyhow::bail!(
                "{n} data keys are wrapped by KEK {id:?}, which is not configured: keep it in keys.previous_keks until `tsunagi keys rotate-kek` has finished"
            );
        }
    }
    Ok(())
}

/// The log's keys, the checkpointer and the alert checks, started among `tasks`.
pub fn start_log_services(
    config: &Config,
    store: &Store,
    clock: Arc<dyn Clock>,
    tasks: &BackgroundTasks,
) -> anyhow::Result<(Checkpointer, Alerts)> {
    let keys = log_keys(config)?;
    tracing::info!(origin = keys.origin(), vkey = %keys.vkeys_text().trim_end(), "disclosure log keys loaded");
    let alerts = Alerts::new(store.clone(), clock.clone(), config.audit.alerts.clone());
    let checkpoints = Checkpointer::new(store.clone(), Arc::new(keys), clock, alerts.clone());
    checkpoints.spawn(
        std::time::Duration::from_millis(config.audit.checkpoint_interval_ms.max(10)),
        tasks,
    );
    alerts.spawn(tasks);
    Ok((checkpoints, alerts))
}

/// The log's origin, signing key and verifier keys from configuration.
pub fn log_keys(config: &Config) -> anyhow::Result<LogKeys> {
    LogKeys::load(
        &config.audit.log_name,
        &config.keys.audit_signing_key_file,
        &config.audit.old_verifier_keys,
    )
    .context("loading the disclosure log's keys")
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        tls::install_crypto_provider();
        check_key_material(&config)?;

        let store = open_store(&config).await?;
        check_keks(&store).await?;
        let tasks = BackgroundTasks::new();
        match Self::start(config, clock, store, tasks.clone()).await {
            Ok(app) => Ok(app),
            Err(e) => {
                // Whatever was started before the failure does not outlive it.
                tasks.stop().await;
                Err(e)
            }
        }
    }

    async fn start(
        config: Config,
        clock: Arc<dyn Clock>,
        store: Store,
        tasks: BackgroundTasks,
    ) -> anyhow::Result<Self> {
        let pseudonyms = Pseudonymizer::new(&read_key::<32>(&config.keys.pseudonym_key_file)?);
        let policy = Arc::new(
            PolicyEngine::open(&store, &config.policy_dir, clock.now())
                .await
                .context("loading the sharing policy")?,
        );
        policy.spawn_watcher(
            store.clone(),
            std::time::Duration::from_millis(config.policy_admin.refresh_ms.max(50)),
            &tasks,
        );
        let current = policy.current();
        tracing::info!(
            version = current.version(),
            rules = current.rules().len(),
            "sharing policy loaded"
        );
        let bases =
            crate::policy::bases::BasesConfig::load_dir(&config.policy_dir).context("loading policies/bases.toml")?;
        let agencies: HashMap<_, _> = store.agencies().await?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let jwt = Arc::new(match &config.jwt.discovery_url {
            Some(url) => crate::issuer_keys::IssuerKeys::discover(
                url,
                config.jwt.ca_file.as_deref(),
                &config.jwt.issuer,
                &config.jwt.audience,
                config.jwt.leeway_secs,
                std::time::Duration::from_secs(config.jwt.min_refetch_secs),
            )
            .await
            .context("discovering the token issuer's keys")?,
            None => crate::issuer_keys::IssuerKeys::fixed(
                JwtVerifier::from_jwks_file(
                    &config.jwt.jwks_file,
                    &config.jwt.issuer,
                    &config.jwt.audience,
                    config.jwt.leeway_secs,
                )
                .map_err(|e| anyhow::anyhow!("loading the token issuer keys: {e}"))?,
            ),
        });
        jwt.spawn_refresher(std::time::Duration::from_secs(config.jwt.refresh_secs.max(1)), &tasks);
        let audit = AuditLog::start(store.clone(), config.audit.max_batch, &tasks);
        store.spawn_wal_checkpointer(std::time::Duration::from_millis(500), &tasks);
        let (checkpoints, alerts) = start_log_services(&config, &store, clock.clone(), &tasks)?;
        let disk = crate::health::DiskWatch::spawn(
            &store,
            alerts.clone(),
            config.disk_min_free_mb.saturating_mul(1024 * 1024),
            std::time::Duration::from_secs(5),
            &tasks,
        );

        let tls_material = crate::tls_reload::TlsMaterial::load(TlsPaths {
            ca_cert: config.tls.ca_cert.clone(),
            server_cert: config.tls.server_cert.clone(),
            server_key: config.tls.server_key.clone(),
            crls: config.tls.crls.clone(),
        })?;
        tls_material.spawn_watcher(
            std::time::Duration::from_secs(config.tls.reload_secs.max(1)),
            time::Duration::days(i64::from(config.tls.expiry_warning_days)),
            alerts.clone(),
            clock.clone(),
            &tasks,
        );

        crate::webhooks::Deliverer::from_config(&config.webhooks, store.clone(), alerts.clone(), clock.clone())
            .context("configuring webhooks")?
            .spawn(std::time::Duration::from_secs(1), &tasks);

        let witnesses = crate::audit::witnessing::WitnessPolicy::from_config(&config.witnesses)
            .context("configuring the log's witnesses")?;
        crate::audit::witnessing::Submitter::new(
            &config.witnesses,
            witnesses.clone(),
            store.clone(),
            alerts.clone(),
            clock.clone(),
        )
        .context("configuring the log's witnesses")?
        .spawn(
            std::time::Duration::from_secs(config.witnesses.submit_interval_secs.max(1)),
            &tasks,
        );

        let state = AppState {
            witnesses: Arc::new(witnesses),
            tls: tls_material.clone(),
            disk,
            database_wait: std::time::Duration::from_millis(config.database_acquire_timeout_ms.max(1)),
            store,
            audit,
            policy,
            policy_admin: config.policy_admin.clone(),
            pseudonyms: Arc::new(pseudonyms),
            clock,
            agencies: Arc::new(agencies),
            jwt,
            bases: Arc::new(bases),
            checkpoints,
            alerts,
        };
        // Overdue monitoring rounds of support plans (issue 11): noticed every
        // `[team] overdue_check_secs`.
        crate::services::plans::spawn_overdue_check(state.clone(), &tasks);

        let tls_config = tls_material.server_config()?;
        let listener = TcpListener::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let max_body = config.max_body_bytes;
        let console_settings = crate::console::session::ConsoleSettings::from_config(&config);
        let oidc = match &config.console.oidc {
            Some(c) => Some(web::Data::new(
                crate::console::oidc::Oidc::from_config(c).context("configuring the console's OpenID Connect login")?,
            )),
            None => None,
        };
        let oidc_on = oidc.is_some();
        let mut server = HttpServer::new(move || {
            let mut app = App::new().app_data(data.clone());
            if let Some(o) = &oidc {
                app = app.app_data(o.clone());
            }
            app.wrap(
                middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Strict-Transport-Security", "max-age=31536000")),
            )
            .wrap(middleware::from_fn(crate::http::trace::trace_request))
            .configure(crate::console::configure(console_settings.clone(), oidc_on))
            .configure(crate::http::configure(max_body))
        })
        // Must be registered before binding, or it is silently ignored.
        .on_connect(|conn, ext| {
            if let Some(tls) =
                conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>>()
            {
                let (_, session) = tls.get_ref();
                // The leaf is the first certificate of the chain the client sent.
                if let Some(leaf) = session.peer_certificates().and_then(|c| c.first()) {
                    ext.insert(PeerCertificate::of(leaf));
                }
            }
        });
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server.listen_rustls_0_23(listener, tls_config)?.run();
        tracing::info!(port, "tsunagi listening (mutual TLS)");
        Ok(Self {
            port,
            server,
            state,
            tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The background tasks (audit sequencer, checkpointer, alert checks, policy watcher, WAL
    /// checkpointer): to see which still run, or to stop them.
    pub fn background_tasks(&self) -> &BackgroundTasks {
        &self.tasks
    }

    /// Serves until the server is stopped (signal or [`Application::handle`]), then stops the
    /// background tasks and waits for them: nothing of the application runs afterwards.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.tasks.stop().await;
        tracing::info!("background tasks stopped");
        served
    }
}
