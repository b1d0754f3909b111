//! Configuration: built-in defaults, then an optional `tsunagi.toml`, then `TSUNAGI_*`
//! environment variables (nested keys with `__`, e.g. `TSUNAGI_TLS__CA_CERT`). Unknown keys
//! are an error, so a typo never silently falls back to a default. Secrets are given as file
//! paths, and `Debug` never prints key material (there is none in here) nor the database password
//! ([`redact_database_url`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Development keys are accepted, with a loud warning.
    Development,
    /// Refuses to start with any development key or certificate.
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub crls: Vec<PathBuf>,
    /// The CA, CRL and server certificate files are checked for changes this often, seconds
    /// (changed files are read again without a restart).
    pub reload_secs: u64,
    /// A `tls-expiring` alert while the server certificate, a CA certificate or a CRL's next
    /// update is less than this many days away.
    pub expiry_warning_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Public keys of the token issuer (RFC 7517 JWKS).
    pub jwks_file: PathBuf,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`, seconds.
    pub leeway_secs: u64,
    /// Signing key used only by `tsunagi token` (development).
    pub dev_signing_key: PathBuf,
    /// The issuer's OpenID discovery document (`https://…/.well-known/openid-configuration`):
    /// when set, the keys come from its `jwks_uri` (cached, refreshed) instead of `jwks_file`.
    pub discovery_url: Option<String>,
    /// A CA to trust for the issuer's HTTPS (else the system's trust store).
    pub ca_file: Option<PathBuf>,
    /// Discovered keys are fetched again this often, seconds.
    pub refresh_secs: u64,
    /// A token with an unknown key id makes the hub look again at most this often, seconds.
    pub min_refetch_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Key-encryption key: wraps every subject's data key.
    pub kek_file: PathBuf,
    /// The current KEK's id, stored beside every data key it wraps.
    pub kek_id: String,
    /// Earlier KEKs still accepted for unwrapping during a rotation (`tsunagi keys rotate-kek`
    /// re-wraps their data keys under the current one; then remove them here).
    pub previous_keks: Vec<PreviousKek>,
    /// HMAC key for subject pseudonyms in the audit log.
    pub pseudonym_key_file: PathBuf,
    /// Ed25519 seed signing the log's checkpoints.
    pub audit_signing_key_file: PathBuf,
}

/// Notices pushed to agencies' systems (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Each agency's registered endpoint; agencies without one poll `GET /v1/notifications`.
    pub endpoints: Vec<WebhookEndpoint>,
    /// The hub's client certificate and key presented to the endpoints (mutual TLS), if any.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// A CA to trust for the endpoints (else the system's trust store).
    pub ca_file: Option<PathBuf>,
    /// The first retry waits this long, milliseconds; each next one twice as long (at most an
    /// hour).
    pub retry_base_ms: u64,
    /// A `webhook-failing` alert once a notice is still undelivered after this many attempts.
    pub alert_after_attempts: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            client_cert: None,
            client_key: None,
            ca_file: None,
            retry_base_ms: 1000,
            alert_after_attempts: 5,
        }
    }
}

/// Witnesses for the log (C2SP `tlog-witness`): other organs that keep the log's checkpoints and
/// cosign only consistent extensions. The hub submits each new checkpoint to every witness;
/// `k` is how many cosignatures make a checkpoint "witnessed" (`?witnessed=true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesConfig {
    /// The witnesses (`[[witnesses.list]]`); none: nothing is submitted.
    pub list: Vec<WitnessConfig>,
    /// Cosignatures required for a witnessed checkpoint (1 ≤ k ≤ the number of witnesses).
    pub k: usize,
    /// The latest checkpoint is submitted to witnesses that have not cosigned it this often,
    /// seconds.
    pub submit_interval_secs: u64,
    /// A `witness-lagging` alert when a witness has not cosigned the latest checkpoint for this
    /// many seconds.
    pub lag_alert_secs: u64,
    /// A CA to trust for `https://` witnesses (else the system's trust store).
    pub ca_file: Option<PathBuf>,
}

impl Default for WitnessesConfig {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            k: 1,
            submit_interval_secs: 5,
            lag_alert_secs: 600,
            ca_file: None,
        }
    }
}

/// One witness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// A short name for status and alerts, e.g. `council`.
    pub name: String,
    /// Its submission prefix: `POST <url>/add-checkpoint`.
    pub url: String,
    /// Its verifier key (`name+keyid+base64(0x04 || key)`, from `tsunagi witness vkey`).
    pub vkey: String,
}

/// One agency's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub agency: String,
    /// `https://…` only.
    pub url: String,
    /// The signing secret shared with the agency: a file holding `whsec_<base64>`.
    pub secret_file: PathBuf,
}

/// A KEK kept for unwrapping only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKek {
    pub id: String,
    pub file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Most entries committed in one transaction.
    pub max_batch: usize,
    /// The log's name: checkpoints carry the origin line `tsunagi.<log_name>`, and the signing
    /// key is named after the origin.
    pub log_name: String,
    /// While the log grows, a new checkpoint is signed at least this often (milliseconds).
    pub checkpoint_interval_ms: u64,
    /// Verifier keys (C2SP `name+keyid+base64` text) of earlier signing keys, so checkpoints
    /// they signed still verify after a rotation.
    pub old_verifier_keys: Vec<String>,
    pub alerts: AlertConfig,
}

/// Unusual-volume alerts: a user (or agency) is flagged when its allowed disclosures on one
/// local day exceed both its minimum and `usual_multiple` times its average day over the
/// previous `baseline_days` days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub user_daily_min: u64,
    pub agency_daily_min: u64,
    pub usual_multiple: u64,
    pub baseline_days: u32,
    /// Offset of the local day from UTC, minutes (Japan: 540).
    pub day_offset_minutes: i32,
    /// How often volumes are checked, seconds.
    pub check_interval_secs: u64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            user_daily_min: 40,
            agency_daily_min: 400,
            usual_multiple: 3,
            baseline_days: 28,
            day_offset_minutes: 540,
            check_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAdminConfig {
    /// A second policy admin must approve a proposal before it is applied.
    pub require_approval: bool,
    /// How often every instance checks for a newer policy version, milliseconds.
    pub refresh_ms: u64,
}

/// The console for people (`/console/`): session lifetimes and the development login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// A console session ends after this many minutes without a request.
    pub idle_minutes: u32,
    /// A console session ends this many hours after login, however active.
    pub absolute_hours: u32,
    /// The development login (pick a user and role; the agency is the certificate's). Only ever
    /// offered in the `development` environment, which also is the only one that accepts the
    /// development keys.
    pub dev_login: bool,
    /// The production login at the ward's identity provider (`[console.oidc]`); none when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            absolute_hours: 10,
            dev_login: true,
            oidc: None,
        }
    }
}

/// The console's OpenID Connect login (authorization code + PKCE) at the ward's identity
/// provider. The client secret comes from a file (`client_secret_file`) or from the environment
/// (`TSUNAGI_CONSOLE__OIDC__CLIENT_SECRET`); `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// A file whose first line is the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// The client secret itself — meant for the environment variable only, never a file in
    /// the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// This hub's callback as registered at the identity provider:
    /// `https://<host>:<port>/console/login/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`.
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// The ID-token claim that names the user (must be a valid user id: a-z, 0-9, `-_.`).
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
    /// The ID-token claim that names the user's agency (must equal the client certificate's).
    #[serde(default = "default_agency_claim")]
    pub agency_claim: String,
    /// The ID-token claim with the user's roles (an array of role names, or one string of
    /// names separated by spaces or commas).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Authentication context classes asked for (`acr_values`); when not empty the ID token's
    /// `acr` must be one of them.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Authentication methods that count as MFA; when not empty the ID token's `amr` must hold
    /// one of them (e.g. `["mfa", "otp", "hwk"]`).
    #[serde(default)]
    pub mfa_amr: Vec<String>,
    /// Trust anchors (PEM) for the identity provider's TLS certificate; the system's trust
    /// store when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// A login started at the hub must come back from the identity provider within this many
    /// seconds.
    #[serde(default = "default_login_expiry_secs")]
    pub login_expiry_secs: u64,
}

fn default_oidc_scopes() -> Vec<String> {
    vec!["profile".to_owned()]
}
fn default_user_claim() -> String {
    "preferred_username".to_owned()
}
fn default_agency_claim() -> String {
    "tsunagi_agency".to_owned()
}
fn default_roles_claim() -> String {
    "tsunagi_roles".to_owned()
}
fn default_login_expiry_secs() -> u64 {
    600
}

/// Prints every field but the client secret, which shows as `***` when set.
impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so that a new field cannot be forgotten here.
        let Self {
            issuer,
            client_id,
            client_secret_file,
            client_secret,
            redirect_url,
            scopes,
            user_claim,
            agency_claim,
            roles_claim,
            acr_values,
            mfa_amr,
            ca_file,
            login_expiry_secs,
        } = self;
        f.debug_struct("OidcConfig")
            .field("issuer", issuer)
            .field("client_id", client_id)
            .field("client_secret_file", client_secret_file)
            .field("client_secret", &client_secret.as_ref().map(|_| "***"))
            .field("redirect_url", redirect_url)
            .field("scopes", scopes)
            .field("user_claim", user_claim)
            .field("agency_claim", agency_claim)
            .field("roles_claim", roles_claim)
            .field("acr_values", acr_values)
            .field("mfa_amr", mfa_amr)
            .field("ca_file", ca_file)
            .field("login_expiry_secs", login_expiry_secs)
            .finish()
    }
}

impl OidcConfig {
    /// The client secret: from `client_secret` (the environment) or the first line of
    /// `client_secret_file`; none for a public client.
    pub fn load_client_secret(&self) -> std::io::Result<Option<String>> {
        if let Some(s) = &self.client_secret {
            return Ok(Some(s.trim().to_owned()));
        }
        match &self.client_secret_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)?;
                Ok(text
                    .lines()
                    .next()
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty()))
            }
            None => Ok(None),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub environment: Environment,
    pub listen: SocketAddr,
    /// `sqlite://path` (default, embedded) or `postgres://…`.
    pub database_url: String,
    pub database_max_connections: u32,
    /// The longest a request waits for a database connection (and `/readyz` for an answer)
    /// before it is answered 503 `database_unavailable`, milliseconds.
    pub database_acquire_timeout_ms: u64,
    /// SQLite: a `low-disk-space` alert is raised while less than this is free under the
    /// database, mebibytes (the write-ahead log is also kept under a quarter of the free space).
    pub disk_min_free_mb: u64,
    pub policy_dir: PathBuf,
    pub log_format: LogFormat,
    /// `tracing` filter directive, e.g. `info` or `tsunagi=debug,info`.
    pub log_level: String,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    pub tls: TlsConfig,
    pub jwt: JwtConfig,
    pub keys: KeysConfig,
    pub audit: AuditConfig,
    pub policy_admin: PolicyAdminConfig,
    pub console: ConsoleConfig,
    pub webhooks: WebhooksConfig,
    pub witnesses: WitnessesConfig,
}

/// Prints every field, the database URL with its password replaced by `***`.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so that a new field cannot be forgotten here.
        let Self {
            environment,
            listen,
            database_url,
            database_max_connections,
            database_acquire_timeout_ms,
            disk_min_free_mb,
            policy_dir,
            log_format,
            log_level,
            workers,
            max_body_bytes,
            tls,
            jwt,
            keys,
            audit,
            policy_admin,
            console,
            webhooks,
            witnesses,
        } = self;
        f.debug_struct("Config")
            .field("environment", environment)
            .field("listen", listen)
            .field("database_url", &redact_database_url(database_url))
            .field("database_max_connections", database_max_connections)
            .field("database_acquire_timeout_ms", database_acquire_timeout_ms)
            .field("disk_min_free_mb", disk_min_free_mb)
            .field("policy_dir", policy_dir)
            .field("log_format", log_format)
            .field("log_level", log_level)
            .field("workers", workers)
            .field("max_body_bytes", max_body_bytes)
            .field("tls", tls)
            .field("jwt", jwt)
            .field("keys", keys)
            .field("audit", audit)
            .field("policy_admin", policy_admin)
            .field("console", console)
            .field("webhooks", webhooks)
            .field("witnesses", witnesses)
            .finish()
    }
}

/// A database URL fit for logs and messages: the password in the user information
/// (`postgres://user:secret@host/db` → `postgres://user:***@host/db`) and the value of a
/// `password=` query parameter are replaced by `***`. URLs without either are unchanged.
pub fn redact_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The authority ends at the first '/', '?' or '#'; the user information, before its last '@'.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(authority_end).unwrap_or((rest, ""));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, frag)) => (q, Some(frag)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl Default for Config {
    fn default() -> Self {
        Self::rooted_at(std::path::Path::new(""))
    }
}

impl Config {
    /// The defaults, with the development key files and the policy directory taken from
    /// `root` (a checkout) instead of the working directory — for tests and benchmarks.
    pub fn rooted_at(root: &std::path::Path) -> Self {
        let dev = root.join("certs-dev");
        Self {
            environment: Environment::Development,
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            database_url: "sqlite://data/tsunagi.db".into(),
            database_max_connections: 8,
            database_acquire_timeout_ms: 3000,
            disk_min_free_mb: 1024,
            policy_dir: root.join("policies"),
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            workers: 0,
            max_body_bytes: 256 * 1024,
            tls: TlsConfig {
                ca_cert: dev.join("ca.pem"),
                server_cert: dev.join("server.pem"),
                server_key: dev.join("server.key"),
                crls: vec![dev.join("crl.pem")],
                reload_secs: 30,
                expiry_warning_days: 30,
            },
            jwt: JwtConfig {
                jwks_file: dev.join("jwks.json"),
                issuer: crate::devcerts::DEV_ISSUER.into(),
                audience: crate::devcerts::DEV_AUDIENCE.into(),
                leeway_secs: 30,
                dev_signing_key: dev.join("jwt-signing.key"),
                discovery_url: None,
                ca_file: None,
                refresh_secs: 300,
                min_refetch_secs: 30,
            },
            keys: KeysConfig {
                kek_file: dev.join("kek.key"),
                kek_id: "kek-1".into(),
                previous_keks: Vec::new(),
                pseudonym_key_file: dev.join("pseudonym.key"),
                audit_signing_key_file: dev.join("audit-signing.key"),
            },
            audit: AuditConfig {
                max_batch: crate::audit::DEFAULT_MAX_BATCH,
                log_name: "local".into(),
                checkpoint_interval_ms: 2000,
                old_verifier_keys: Vec::new(),
                alerts: AlertConfig::default(),
            },
            policy_admin: PolicyAdminConfig {
                require_approval: false,
                refresh_ms: 500,
            },
            console: ConsoleConfig::default(),
            webhooks: WebhooksConfig::default(),
            witnesses: WitnessesConfig::default(),
        }
    }
}

/// Environment variables with our prefix that are not configuration.
const NOT_CONFIG: [&str; 3] = ["TEST_POSTGRES_URL", "BROWSER_TESTS", "FAULT_TESTS"];

impl Config {
    /// Defaults → `file` (if it exists; `tsunagi.toml` unless given) → `TSUNAGI_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let file = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("tsunagi.toml"));
        let env = Env::prefixed("TSUNAGI_")
            .split("__")
            .filter(|k| !NOT_CONFIG.iter().any(|n| k.as_str().eq_ignore_ascii_case(n)));
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(env)
            .extract()
            .map_err(Box::new)
    }

    /// Every file that holds key material or a trust anchor.
    pub fn key_files(&self) -> Vec<&Path> {
        let mut v = vec![
            self.tls.ca_cert.as_path(),
            self.tls.server_cert.as_path(),
            self.tls.server_key.as_path(),
            self.jwt.jwks_file.as_path(),
            self.keys.kek_file.as_path(),
            self.keys.pseudonym_key_file.as_path(),
            self.keys.audit_signing_key_file.as_path(),
        ];
        v.extend(self.tls.crls.iter().map(PathBuf::as_path));
        v.extend(self.keys.previous_keks.iter().map(|k| k.file.as_path()));
        v
    }

    /// The key files that are development material (they sit next to the development marker
    /// file that `tsunagi dev-certs` writes).
    pub fn development_key_files(&self) -> Vec<PathBuf> {
        self.key_files()
            .into_iter()
            .filter(|p| p.parent().is_some_and(|d| d.join(crate::devcerts::DEV_MARKER).exists()))
            .map(Path::to_path_buf)
            .collect()
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail closures return figment::Error, which is large"
)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_database_password() {
        let c = Config {
            database_url: "postgres://user:secret@host/db".into(),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("postgres://user:***@host/db"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
        for (url, redacted) in [
            ("postgres://user:secret@host/db", "postgres://user:***@host/db"),
            (
                "postgres://u:p%40ss@db.example:5432/x?sslmode=require",
                "postgres://u:***@db.example:5432/x?sslmode=require",
            ),
            (
                "postgres://user@host/db?password=secret&sslmode=disable",
                "postgres://user@host/db?password=***&sslmode=disable",
            ),
            ("postgres://host/db", "postgres://host/db"),
            ("sqlite://data/tsunagi.db", "sqlite://data/tsunagi.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_database_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn debug_never_prints_the_oidc_client_secret() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "t.toml",
                "[console.oidc]\nissuer = \"https://idp.example\"\nclient_id = \"tsunagi\"\n\
                 redirect_url = \"https://hub.example/console/login/callback\"\n",
            )?;
            jail.set_env("TSUNAGI_CONSOLE__OIDC__CLIENT_SECRET", "very-secret-value");
            let c = Config::load(Some(Path::new("t.toml"))).unwrap();
            let oidc = c.console.oidc.clone().unwrap();
            assert_eq!(oidc.load_client_secret().unwrap().as_deref(), Some("very-secret-value"));
            assert_eq!(oidc.agency_claim, "tsunagi_agency");
            assert_eq!(oidc.roles_claim, "tsunagi_roles");
            let shown = format!("{c:?}");
            assert!(!shown.contains("very-secret-value"), "{shown}");
            assert!(shown.contains("client_secret: Some(\"***\")"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn the_readmes_oidc_example_is_a_valid_configuration() {
        let readme = include_str!("../README.md");
        let (_, rest) = readme.split_once("```toml\n[console.oidc]").unwrap();
        let (body, _) = rest.split_once("```").unwrap();
        let block = format!("[console.oidc]{body}");
        figment::Jail::expect_with(|jail| {
            jail.create_file("t.toml", &block)?;
            let c = Config::load(Some(Path::new("t.toml"))).unwrap();
            let oidc = c.console.oidc.unwrap();
            assert_eq!(oidc.client_id, "tsunagi-console");
            assert_eq!(oidc.mfa_amr, ["mfa", "otp", "hwk"]);
            assert_eq!(oidc.login_expiry_secs, 600);
            Ok(())
        });
    }

    #[test]
    fn layering_and_unknown_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("t.toml", "listen = \"127.0.0.1:9000\"\n[audit]\nmax_batch = 7\n")?;
            jail.set_env("TSUNAGI_DATABASE_URL", "sqlite://x.db");
            jail.set_env("TSUNAGI_TEST_POSTGRES_URL", "postgres://ignored");
            let c = Config::load(Some(Path::new("t.toml"))).unwrap();
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.audit.max_batch, 7);
            assert_eq!(c.database_url, "sqlite://x.db");
            jail.set_env("TSUNAGI_LISTN", "127.0.0.1:1");
            let err = Config::load(Some(Path::new("t.toml"))).unwrap_err();
            assert!(err.to_string().contains("listn"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_deployment_example_is_a_valid_production_configuration() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/tsunagi.toml");
        // figment skips a missing file silently: make sure this one is really read.
        assert!(file.exists(), "{} is missing (is it committed?)", file.display());
        figment::Jail::expect_with(|_jail| {
            let c = Config::load(Some(&file)).unwrap();
            assert_eq!(c.environment, Environment::Production);
            assert!(!c.console.dev_login);
            assert!(c.database_url.starts_with("postgres://"));
            assert!(c.development_key_files().is_empty(), "{:?}", c.development_key_files());
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("t.toml", "[tls]\nca_certs = \"x\"\n")?;
            assert!(Config::load(Some(Path::new("t.toml"))).is_err());
            Ok(())
        });
    }
}
