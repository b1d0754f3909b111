//! The server's TLS material, reloaded without a restart: the client CA, the CRLs and the
//! server certificate and key are read again when their files change (checked every
//! `tls.reload_secs`), and every new handshake uses what was read last. A file that fails to
//! load keeps what is in force (and is logged): a half-written CRL never opens the door.
//!
//! It also watches dates: while the server certificate, a CA certificate or a CRL's next update
//! is less than `tls.expiry_warning_days` away, a `tls-expiring` alert is raised (once a day)
//! and `/readyz` shows the dates. An expired CRL makes every client certificate fail (rustls
//! enforces the next update), so the warning comes first.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::alerts::{AlertKind, Alerts};
use crate::tls::{TlsError, TlsPaths};

/// The dates that end the TLS material's usefulness.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct TlsDates {
    #[serde(with = "time::serde::rfc3339::option")]
    pub server_cert_expires: Option<OffsetDateTime>,
    /// The earliest expiry among the client CA certificates.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ca_expires: Option<OffsetDateTime>,
    /// The earliest next update among the CRLs.
    #[serde(with = "time::serde::rfc3339::option")]
    pub crl_next_update: Option<OffsetDateTime>,
}

impl TlsDates {
    /// The earliest of the dates, and what it is.
    pub fn first(&self) -> Option<(&'static str, OffsetDateTime)> {
        [
            ("server certificate", self.server_cert_expires),
            ("client CA certificate", self.ca_expires),
            ("CRL next update", self.crl_next_update),
        ]
        .into_iter()
        .filter_map(|(what, t)| t.map(|t| (what, t)))
        .min_by_key(|(_, t)| *t)
    }
}

struct Loaded {
    verifier: Arc<dyn ClientCertVerifier>,
    key: Arc<CertifiedKey>,
    dates: TlsDates,
}

/// The material in force, swapped whole when the files change.
pub struct TlsMaterial {
    paths: TlsPaths,
    current: ArcSwap<Loaded>,
    /// The client CA's names, offered as hints (fixed at start: hints only).
    hints: Vec<DistinguishedName>,
    stamps: Mutex<Vec<Option<SystemTime>>>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

fn files(paths: &TlsPaths) -> Vec<PathBuf> {
    let mut v = vec![
        paths.ca_cert.clone(),
        paths.server_cert.clone(),
        paths.server_key.clone(),
    ];
    v.extend(paths.crls.iter().cloned());
    v
}

fn stamps(paths: &TlsPaths) -> Vec<Option<SystemTime>> {
    files(paths)
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

fn to_time(t: x509_parser::time::ASN1Time) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

fn load(paths: &TlsPaths) -> Result<Loaded, TlsError> {
    let verifier = crate::tls::client_verifier(paths)?;
    let (chain, key) = crate::tls::server_identity(paths)?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|source| TlsError::Config {
            context: "server private key",
            source,
        })?;
    let server_cert_expires = chain.first().and_then(|leaf| {
        x509_parser::parse_x509_certificate(leaf.as_ref())
            .ok()
            .and_then(|(_, c)| to_time(c.validity().not_after))
    });
    let ca_expires = crate::tls::ca_certs(paths)?
        .iter()
        .filter_map(|c| {
            x509_parser::parse_x509_certificate(c.as_ref())
                .ok()
                .and_then(|(_, c)| to_time(c.validity().not_after))
        })
        .min();
    let crl_next_update = crate::tls::crl_ders(paths)?
        .iter()
        .filter_map(|c| {
            x509_parser::parse_x509_crl(c.as_ref())
                .ok()
                .and_then(|(_, c)| c.next_update().and_then(to_time))
        })
        .min();
    Ok(Loaded {
        verifier,
        key: Arc::new(CertifiedKey::new(chain, signing)),
        dates: TlsDates {
            server_cert_expires,
            ca_expires,
            crl_next_update,
        },
    })
}

impl TlsMaterial {
    /// Reads the material (an error if any of it cannot be used).
    pub fn load(paths: TlsPaths) -> Result<Arc<Self>, TlsError> {
        let loaded = load(&paths)?;
        let hints = loaded.verifier.root_hint_subjects().to_vec();
        Ok(Arc::new(Self {
            stamps: Mutex::new(stamps(&paths)),
            current: ArcSwap::from_pointee(loaded),
            hints,
            paths,
        }))
    }

    /// The server configuration over this material: client certificates required and verified
    /// against the CA and CRLs in force, the certificate in force presented, no resumption.
    pub fn server_config(self: &Arc<Self>) -> Result<ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|source| TlsError::Config {
                context: "protocol versions",
                source,
            })?
            .with_client_cert_verifier(Arc::new(Verifier(Arc::clone(self))))
            .with_cert_resolver(Arc::new(Resolver(Arc::clone(self))));
        // No resumption: every connection re-presents and re-verifies the client certificate,
        // so a revocation takes effect on the next connection.
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// The dates of the material in force.
    pub fn dates(&self) -> TlsDates {
        self.current.load().dates
    }

    /// Reads the files again if any changed; `Ok(true)` when new material is in force. On an
    /// error the material in force stays.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamps(&self.paths);
        let mut seen = self.stamps.lock().unwrap_or_else(|p| p.into_inner());
        if *seen == now {
            return Ok(false);
        }
        let loaded = load(&self.paths)?;
        self.current.store(Arc::new(loaded));
        *seen = now;
        Ok(true)
    }

    /// Every `every`: reload changed files, and raise `tls-expiring` while a date is less than
    /// `warn` away. One of `tasks`.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        every: Duration,
        warn: time::Duration,
        alerts: Alerts,
        clock: Arc<dyn crate::clock::Clock>,
        tasks: &crate::tasks::BackgroundTasks,
    ) {
        let material = Arc::clone(self);
        let mut shutdown = tasks.shutdown();
        tasks.spawn("TLS reloader", async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                match material.reload_if_changed() {
                    Ok(true) => tracing::info!("TLS material reloaded (CA, CRLs, server certificate)"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "TLS material could not be reloaded; the material in force stays")
                    }
                }
                if let Some((what, at)) = material.dates().first()
                    && at - clock.now() < warn
                {
                    let detail = format!("the {what} ends at {at}: renew it before then");
                    tracing::warn!(what, "TLS material ends soon");
                    if let Err(e) = alerts.raise(AlertKind::TlsExpiring, "hub", &detail).await {
                        tracing::warn!(error = %e, "the tls-expiring alert could not be stored");
                    }
                }
            }
        });
    }
}

#[derive(Debug)]
struct Verifier(Arc<TlsMaterial>);

impl ClientCertVerifier for Verifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.0.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .current
            .load()
            .verifier
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .current
            .load()
            .verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .current
            .load()
            .verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.current.load().verifier.supported_verify_schemes()
    }
}

#[derive(Debug)]
struct Resolver(Arc<TlsMaterial>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.current.load().key))
    }
}
