//! Mutual-TLS plumbing for the hub: the rustls server configuration that
//! requires and verifies agency client certificates (with CRL revocation),
//! a client configuration for tests and tools, and the helpers that turn a
//! verified client certificate into the calling agency's id and the
//! fingerprint recorded in the audit log.
//!
//! Everything uses rustls with the `ring` provider, passed explicitly, so the
//! process-wide default provider never decides which cryptography is used.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::AgencyId;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;

/// Prefix of the SAN URI that names the calling agency in a client certificate.
pub const AGENCY_URI_PREFIX: &str = "urn:tsunagi:agency:";

/// Longest agency id accepted (the limit of [`AgencyId::parse`]).
pub const MAX_AGENCY_ID_LEN: usize = 64;

/// Where the server's TLS material lives on disk.
#[derive(Debug, Clone)]
pub struct TlsPaths {
    /// PEM file with the CA certificate(s) that issue agency client
    /// certificates; these are the only trust anchors for client auth.
    pub ca_cert: PathBuf,
    /// PEM certificate chain the server presents (leaf first).
    pub server_cert: PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1) matching the server leaf.
    pub server_key: PathBuf,
    /// PEM CRL files from the client CA; a client certificate listed in any
    /// of them is refused. Empty means no revocation checking.
    pub crls: Vec<PathBuf>,
}

/// Failure to build a TLS configuration or to read identity from a certificate.
///
/// Messages name the offending file but never include key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be opened or read.
    #[error("cannot read {what} file {}: {source}", path.display())]
    Read {
        /// Which role the file plays (e.g. "CA certificate").
        what: &'static str,
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not well-formed PEM.
    #[error("{what} file {} is not valid PEM: {reason}", path.display())]
    Pem {
        /// Which role the file plays.
        what: &'static str,
        /// The file that failed.
        path: PathBuf,
        /// A description of the defect (no file content is quoted).
        reason: &'static str,
    },
    /// A file is well-formed but holds none of the expected PEM items.
    #[error("{what} file {} contains no {expected}", path.display())]
    Empty {
        /// Which role the file plays.
        what: &'static str,
        /// The file that failed.
        path: PathBuf,
        /// The kind of PEM item that was expected.
        expected: &'static str,
    },
    /// A CA certificate could not be used as a trust anchor.
    #[error("CA certificate file {} holds an unusable trust anchor: {source}", path.display())]
    TrustAnchor {
        /// The CA file.
        path: PathBuf,
        /// Why rustls refused it.
        #[source]
        source: rustls::Error,
    },
    /// The client-certificate verifier could not be built (e.g. an invalid CRL).
    #[error("cannot build the client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// rustls refused the configuration (e.g. key does not match certificate).
    #[error("TLS configuration rejected ({context}): {source}")]
    Config {
        /// Which step failed.
        context: &'static str,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The certificate is not parseable X.509.
    #[error("certificate is not valid X.509: {0}")]
    CertificateParse(String),
    /// The certificate has no `urn:tsunagi:agency:` SAN URI.
    #[error("certificate carries no `{AGENCY_URI_PREFIX}<id>` SAN URI")]
    NoAgencyUri,
    /// The certificate has more than one agency SAN URI.
    #[error("certificate carries {0} `{AGENCY_URI_PREFIX}` SAN URIs; exactly one is required")]
    MultipleAgencyUris(usize),
    /// The agency id in the SAN URI is not valid by [`AgencyId::parse`].
    #[error("certificate names an invalid agency id {0:?}")]
    InvalidAgencyId(String),
}

/// Installs ring as rustls' process-wide default provider; idempotent,
/// ignores "already installed".
pub fn install_crypto_provider() {
    // An Err only means some provider is already installed; the configs in
    // this module pass ring explicitly, so that is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Whether `id` is a valid agency id. There is one rule, [`AgencyId::parse`]: a certificate
/// names an agency exactly when the API would accept that id.
pub fn is_valid_agency_id(id: &str) -> bool {
    AgencyId::parse(id).is_ok()
}

fn pem_error(what: &'static str, path: &Path, expected: &'static str, err: pem::Error) -> TlsError {
    let path = path.to_path_buf();
    let reason = match err {
        pem::Error::Io(source) => return TlsError::Read { what, path, source },
        pem::Error::NoItemsFound => {
            return TlsError::Empty { what, path, expected };
        }
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line",
        pem::Error::IllegalSectionStart { .. } => "malformed BEGIN line",
        // The decoder's message may quote content bytes; keep them out.
        pem::Error::Base64Decode(_) => "invalid base64 in a PEM section",
        pem::Error::SectionTooLarge => "a PEM section is too large",
        _ => "unrecognised PEM error",
    };
    TlsError::Pem { what, path, reason }
}

fn load_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(what, path, "certificate", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(what, path, "certificate", e))?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            what,
            path: path.to_path_buf(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

fn load_key(what: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(what, path, "private key", e))
}

fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    const WHAT: &str = "CRL";
    let crls = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| pem_error(WHAT, path, "X509 CRL", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(WHAT, path, "X509 CRL", e))?;
    if crls.is_empty() {
        return Err(TlsError::Empty {
            what: WHAT,
            path: path.to_path_buf(),
            expected: "X509 CRL",
        });
    }
    Ok(crls)
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs("CA certificate", path)? {
        roots.add(cert).map_err(|source| TlsError::TrustAnchor {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(roots)
}

/// mTLS server config: a client certificate is REQUIRED and verified against
/// `ca_cert` and the CRLs (revocation enforced for the whole chain, unknown
/// status refused, expired CRLs refused); TLS 1.3 and 1.2 only; the ring
/// provider explicitly; session resumption disabled (no tickets, no session
/// cache) so a revoked certificate is refused on the very next connection;
/// ALPN `http/1.1`.
pub fn server_config(paths: &TlsPaths) -> Result<ServerConfig, TlsError> {
    let provider = ring_provider();
    let roots = Arc::new(load_roots(&paths.ca_cert)?);

    let mut crls = Vec::new();
    for path in &paths.crls {
        crls.extend(load_crls(path)?);
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .with_crls(crls)
        .enforce_revocation_expiration()
        .build()?;

    let chain = load_certs("server certificate", &paths.server_cert)?;
    let key = load_key("server private key", &paths.server_key)?;

    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| TlsError::Config {
            context: "protocol versions",
            source,
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::Config {
            context: "server certificate and key",
            source,
        })?;
    // No resumption: every connection re-presents and re-verifies the client
    // certificate, so revocation takes effect on the next connection.
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The client-certificate verifier over `paths`' CA and CRLs (an expired CRL is enforced).
pub fn client_verifier(paths: &TlsPaths) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let roots = Arc::new(load_roots(&paths.ca_cert)?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, ring_provider())
        .with_crls(crl_ders(paths)?)
        .enforce_revocation_expiration()
        .build()?;
    Ok(verifier)
}

/// The server's certificate chain and private key.
pub fn server_identity(paths: &TlsPaths) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    Ok((
        load_certs("server certificate", &paths.server_cert)?,
        load_key("server private key", &paths.server_key)?,
    ))
}

/// The client CA certificates.
pub fn ca_certs(paths: &TlsPaths) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    load_certs("CA certificate", &paths.ca_cert)
}

/// Every CRL of `paths`.
pub fn crl_ders(paths: &TlsPaths) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let mut crls = Vec::new();
    for path in &paths.crls {
        crls.extend(load_crls(path)?);
    }
    Ok(crls)
}

/// Client config for tests, the benchmark and CLI tools: trusts `ca_cert`,
/// optionally presents a client certificate chain + key (`(chain, key)`
/// PEM paths), ring provider explicitly, TLS 1.3 and 1.2, ALPN `http/1.1`.
pub fn client_config(ca_cert: &Path, client: Option<(&Path, &Path)>) -> Result<ClientConfig, TlsError> {
    let roots = load_roots(ca_cert)?;
    let builder = ClientConfig::builder_with_provider(ring_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| TlsError::Config {
            context: "protocol versions",
            source,
        })?
        .with_root_certificates(roots);
    let mut config = match client {
        Some((chain_path, key_path)) => {
            let chain = load_certs("client certificate", chain_path)?;
            let key = load_key("client private key", key_path)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|source| TlsError::Config {
                    context: "client certificate and key",
                    source,
                })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The agency id from the leaf certificate's SAN URI: exactly one
/// `urn:tsunagi:agency:<id>` URI must be present and `<id>` must be a valid
/// agency id by the domain's one rule ([`AgencyId::parse`]). Other SAN entries (including other URIs) are ignored.
///
/// This only reads the certificate; call it on a certificate the TLS layer
/// has already verified.
pub fn agency_from_cert(cert: &CertificateDer<'_>) -> Result<String, TlsError> {
    let (rest, parsed) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| TlsError::CertificateParse(e.to_string()))?;
    if !rest.is_empty() {
        return Err(TlsError::CertificateParse("trailing data after certificate".to_owned()));
    }
    let san = parsed
        .subject_alternative_name()
        .map_err(|e| TlsError::CertificateParse(e.to_string()))?
        .ok_or(TlsError::NoAgencyUri)?;
    let ids: Vec<&str> = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => uri.strip_prefix(AGENCY_URI_PREFIX),
            _ => None,
        })
        .collect();
    match ids.as_slice() {
        [] => Err(TlsError::NoAgencyUri),
        [id] if is_valid_agency_id(id) => Ok((*id).to_owned()),
        [id] => Err(TlsError::InvalidAgencyId(
            id.chars().take(MAX_AGENCY_ID_LEN + 8).collect(),
        )),
        many => Err(TlsError::MultipleAgencyUris(many.len())),
    }
}

/// Lowercase hex SHA-256 of the certificate DER — the client certificate
/// identity recorded in the audit log.
pub fn cert_fingerprint(cert: &CertificateDer<'_>) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, cert.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devcerts;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        SanType, string::Ia5String,
    };
    use std::io;
    use tempfile::TempDir;
    use time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    /// A freshly generated dev PKI in its own temporary directory.
    fn pki() -> TempDir {
        let dir = tempfile::tempdir().unwrap();
        devcerts::generate(dir.path()).unwrap();
        dir
    }

    fn paths(dir: &Path) -> TlsPaths {
        TlsPaths {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            crls: vec![dir.join("crl.pem")],
        }
    }

    fn der_of(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    struct Outcome {
        client: io::Result<(rustls::ProtocolVersion, Option<Vec<u8>>)>,
        server: io::Result<Vec<CertificateDer<'static>>>,
    }

    /// Runs one real handshake over loopback TCP and exchanges one byte each
    /// way, so a rejection of the client certificate (which TLS 1.3 clients
    /// may only see on their first read) is observed on both sides.
    async fn handshake(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> Outcome {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(server);
        let server_task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut tls = acceptor.accept(tcp).await?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte).await?;
            tls.write_all(&byte).await?;
            tls.flush().await?;
            let certs = tls.get_ref().1.peer_certificates().unwrap_or_default();
            let certs: Vec<_> = certs.iter().map(|c| c.clone().into_owned()).collect();
            tls.shutdown().await.ok();
            Ok::<_, io::Error>(certs)
        });

        let connector = TlsConnector::from(client);
        let client_result = async {
            let tcp = TcpStream::connect(addr).await?;
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await?;
            tls.write_all(b"x").await?;
            tls.flush().await?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte).await?;
            assert_eq!(&byte, b"x");
            let conn = tls.get_ref().1;
            let version = conn.protocol_version().unwrap();
            let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
            Ok((version, alpn))
        }
        .await;
        let server_result = server_task.await.unwrap();
        Outcome {
            client: client_result,
            server: server_result,
        }
    }

    fn server(dir: &Path) -> Arc<ServerConfig> {
        Arc::new(server_config(&paths(dir)).unwrap())
    }

    fn client_for(dir: &Path, name: &str) -> Arc<ClientConfig> {
        let cert = dir.join("clients").join(format!("{name}.pem"));
        let key = dir.join("clients").join(format!("{name}.key"));
        Arc::new(client_config(&dir.join("ca.pem"), Some((&cert, &key))).unwrap())
    }

    /// Client config presenting in-memory PEM material, trusting the dev CA.
    fn client_with_pem(dir: &Path, cert_pem: &str, key_pem: &str) -> Arc<ClientConfig> {
        let scratch = tempfile::tempdir().unwrap();
        let cert = scratch.path().join("c.pem");
        let key = scratch.path().join("c.key");
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        Arc::new(client_config(&dir.join("ca.pem"), Some((&cert, &key))).unwrap())
    }

    fn assert_rejected(outcome: &Outcome) {
        assert!(outcome.client.is_err(), "client should see the handshake fail");
        assert!(outcome.server.is_err(), "server should refuse the handshake");
    }

    #[tokio::test]
    async fn valid_client_cert_is_accepted_for_every_agency() {
        let pki = pki();
        let dir = pki.path();
        let server = server(dir);
        for agency in devcerts::DEFAULT_AGENCIES {
            let outcome = handshake(server.clone(), client_for(dir, agency)).await;
            let (version, alpn) = outcome.client.unwrap();
            assert_eq!(version, rustls::ProtocolVersion::TLSv1_3);
            assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
            let certs = outcome.server.unwrap();
            let leaf = certs.first().expect("peer presented a certificate");
            assert_eq!(agency_from_cert(leaf).unwrap(), agency);
            let on_disk = std::fs::read_to_string(dir.join(format!("clients/{agency}.pem"))).expect("client cert file");
            assert_eq!(cert_fingerprint(leaf), cert_fingerprint(&der_of(&on_disk)));
        }
    }

    #[tokio::test]
    async fn tls12_client_is_accepted_with_client_cert() {
        let pki = pki();
        let dir = pki.path();
        let roots = load_roots(&dir.join("ca.pem")).unwrap();
        let chain = load_certs("c", &dir.join("clients/jobota.pem")).unwrap();
        let key = load_key("k", &dir.join("clients/jobota.key")).unwrap();
        let tls12 = ClientConfig::builder_with_provider(ring_provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap();
        let outcome = handshake(server(dir), Arc::new(tls12)).await;
        let (version, _) = outcome.client.unwrap();
        assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);
        let certs = outcome.server.unwrap();
        assert_eq!(agency_from_cert(&certs[0]).unwrap(), "jobota");
    }

    #[tokio::test]
    async fn no_client_cert_is_rejected() {
        let pki = pki();
        let dir = pki.path();
        let client = Arc::new(client_config(&dir.join("ca.pem"), None).unwrap());
        let outcome = handshake(server(dir), client).await;
        assert_rejected(&outcome);
    }

    #[tokio::test]
    async fn revoked_client_cert_is_rejected() {
        let pki = pki();
        let dir = pki.path();
        let outcome = handshake(server(dir), client_for(dir, "revoked")).await;
        assert_rejected(&outcome);
        let msg = outcome.server.unwrap_err().to_string();
        assert!(msg.to_lowercase().contains("revoked"), "{msg}");
    }

    #[tokio::test]
    async fn revoked_client_cert_is_accepted_without_crl() {
        // Proves the rejection above is due to the CRL, not another defect.
        let pki = pki();
        let dir = pki.path();
        let mut p = paths(dir);
        p.crls.clear();
        let server = Arc::new(server_config(&p).unwrap());
        let outcome = handshake(server, client_for(dir, "revoked")).await;
        outcome.client.unwrap();
        assert_eq!(agency_from_cert(&outcome.server.unwrap()[0]).unwrap(), "jobota");
    }

    #[tokio::test]
    async fn foreign_ca_client_cert_is_rejected() {
        let pki = pki();
        let dir = pki.path();
        let (_ca, cert, key) = devcerts::foreign_client_cert("jobota").unwrap();
        let outcome = handshake(server(dir), client_with_pem(dir, &cert, &key)).await;
        assert_rejected(&outcome);
    }

    fn ca_pems(dir: &Path) -> (String, String) {
        (
            std::fs::read_to_string(dir.join("ca.pem")).unwrap(),
            std::fs::read_to_string(dir.join("ca.key")).unwrap(),
        )
    }

    #[tokio::test]
    async fn expired_client_cert_is_rejected() {
        let pki = pki();
        let dir = pki.path();
        let (ca, ca_key) = ca_pems(dir);
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let (cert, key) = devcerts::issue_client_cert(
            &ca,
            &ca_key,
            "jobota",
            now - Duration::days(30),
            now - Duration::days(1),
        )
        .unwrap();
        let outcome = handshake(server(dir), client_with_pem(dir, &cert, &key)).await;
        assert_rejected(&outcome);
    }

    #[tokio::test]
    async fn not_yet_valid_client_cert_is_rejected() {
        let pki = pki();
        let dir = pki.path();
        let (ca, ca_key) = ca_pems(dir);
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let (cert, key) = devcerts::issue_client_cert(
            &ca,
            &ca_key,
            "jobota",
            now + Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap();
        let outcome = handshake(server(dir), client_with_pem(dir, &cert, &key)).await;
        assert_rejected(&outcome);
    }

    #[tokio::test]
    async fn freshly_issued_client_cert_is_accepted() {
        let pki = pki();
        let dir = pki.path();
        let (ca, ca_key) = ca_pems(dir);
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let (cert, key) = devcerts::issue_client_cert(
            &ca,
            &ca_key,
            "sapota",
            now - Duration::minutes(5),
            now + Duration::days(1),
        )
        .unwrap();
        let outcome = handshake(server(dir), client_with_pem(dir, &cert, &key)).await;
        outcome.client.unwrap();
        assert_eq!(agency_from_cert(&outcome.server.unwrap()[0]).unwrap(), "sapota");
    }

    #[tokio::test]
    async fn sessions_are_never_resumed() {
        let pki = pki();
        let dir = pki.path();
        let server = server(dir);
        let client = client_for(dir, "sapota");
        for _ in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let acceptor = TlsAcceptor::from(server.clone());
            let task = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let mut tls = acceptor.accept(tcp).await.unwrap();
                let mut b = [0u8; 1];
                tls.read_exact(&mut b).await.unwrap();
                tls.write_all(&b).await.unwrap();
                tls.flush().await.unwrap();
                tls.get_ref().1.handshake_kind()
            });
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = TlsConnector::from(client.clone()).connect(name, tcp).await.unwrap();
            tls.write_all(b"y").await.unwrap();
            let mut b = [0u8; 1];
            tls.read_exact(&mut b).await.unwrap();
            let kind = task.await.unwrap();
            assert_eq!(kind, Some(rustls::HandshakeKind::Full));
            assert_eq!(tls.get_ref().1.handshake_kind(), Some(rustls::HandshakeKind::Full));
        }
    }

    #[test]
    fn server_config_disables_resumption_and_sets_alpn() {
        let pki = pki();
        let config = server_config(&paths(pki.path())).unwrap();
        assert_eq!(config.send_tls13_tickets, 0);
        assert!(!config.ticketer.enabled());
        assert!(!config.session_storage.can_cache());
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn missing_file_error_names_the_file() {
        let pki = pki();
        let mut p = paths(pki.path());
        p.server_key = pki.path().join("does-not-exist.key");
        let err = server_config(&p).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("does-not-exist.key"), "{err}");
    }

    #[test]
    fn key_file_without_key_is_reported_without_content() {
        let scratch = tempfile::tempdir().unwrap();
        let bogus = scratch.path().join("bogus.key");
        // A certificate where a key is expected.
        let pki = pki();
        std::fs::copy(pki.path().join("ca.pem"), &bogus).unwrap();
        let mut p = paths(pki.path());
        p.server_key = bogus;
        let err = server_config(&p).unwrap_err();
        assert!(matches!(err, TlsError::Empty { .. }), "{err:?}");
        assert!(err.to_string().contains("bogus.key"));
        assert!(!err.to_string().contains("BEGIN"));
    }

    #[test]
    fn corrupt_pem_does_not_echo_content() {
        let scratch = tempfile::tempdir().unwrap();
        let bad = scratch.path().join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nSECRET!!@@##\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let pki = pki();
        let mut p = paths(pki.path());
        p.server_cert = bad;
        let err = server_config(&p).unwrap_err().to_string();
        assert!(err.contains("bad.pem"), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn fingerprint_is_lowercase_sha256_hex() {
        let fp = cert_fingerprint(&CertificateDer::from(b"abc".to_vec()));
        assert_eq!(fp, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    /// Builds a CA-signed certificate with arbitrary SANs, for the SAN tests.
    fn cert_with_sans(sans: Vec<SanType>) -> CertificateDer<'static> {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "test ca");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.signed_by(&key, &issuer).unwrap().der().clone()
    }

    fn uri(s: &str) -> SanType {
        SanType::URI(Ia5String::try_from(s).unwrap())
    }

    #[test]
    fn agency_from_cert_accepts_one_uri_among_other_sans() {
        let cert = cert_with_sans(vec![
            SanType::DnsName("client.example".try_into().unwrap()),
            uri("https://example.org/x"),
            uri("urn:tsunagi:agency:child-services"),
        ]);
        assert_eq!(agency_from_cert(&cert).unwrap(), "child-services");
    }

    #[test]
    fn agency_from_cert_rejects_missing_uri() {
        let cert = cert_with_sans(vec![SanType::DnsName("x.example".try_into().unwrap())]);
        assert!(matches!(agency_from_cert(&cert), Err(TlsError::NoAgencyUri)));
        let cert = cert_with_sans(vec![]);
        assert!(matches!(agency_from_cert(&cert), Err(TlsError::NoAgencyUri)));
        let cert = cert_with_sans(vec![uri("URN:TSUNAGI:AGENCY:jobota")]);
        assert!(matches!(agency_from_cert(&cert), Err(TlsError::NoAgencyUri)));
    }

    #[test]
    fn agency_from_cert_rejects_two_uris() {
        let cert = cert_with_sans(vec![uri("urn:tsunagi:agency:jobota"), uri("urn:tsunagi:agency:sapota")]);
        assert!(matches!(agency_from_cert(&cert), Err(TlsError::MultipleAgencyUris(2))));
        // Even the same id twice is ambiguous and refused.
        let cert = cert_with_sans(vec![uri("urn:tsunagi:agency:jobota"), uri("urn:tsunagi:agency:jobota")]);
        assert!(matches!(agency_from_cert(&cert), Err(TlsError::MultipleAgencyUris(2))));
    }

    #[test]
    fn agency_from_cert_rejects_invalid_ids() {
        let too_long = "a".repeat(MAX_AGENCY_ID_LEN + 1);
        for bad in ["Jobota", "job/ota", "", too_long.as_str(), "jo bota", "jöbota"] {
            let s = format!("urn:tsunagi:agency:{bad}");
            let Ok(ia5) = Ia5String::try_from(s.as_str()) else {
                continue; // not representable in a certificate at all
            };
            let cert = cert_with_sans(vec![SanType::URI(ia5)]);
            assert!(
                matches!(agency_from_cert(&cert), Err(TlsError::InvalidAgencyId(_))),
                "{bad:?} should be rejected"
            );
        }
        let max = "a".repeat(MAX_AGENCY_ID_LEN);
        let cert = cert_with_sans(vec![uri(&format!("urn:tsunagi:agency:{max}"))]);
        assert_eq!(agency_from_cert(&cert).unwrap(), max);
    }

    #[test]
    fn agency_from_cert_rejects_garbage() {
        let err = agency_from_cert(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]));
        assert!(matches!(err, Err(TlsError::CertificateParse(_))));
    }

    #[test]
    fn install_crypto_provider_is_idempotent() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    #[test]
    fn agency_id_syntax() {
        assert!(is_valid_agency_id("regional-support-centre"));
        assert!(is_valid_agency_id("a1-"));
        assert!(!is_valid_agency_id(""));
        assert!(!is_valid_agency_id("A"));
        // The domain's rule (`AgencyId::parse`): '_' and '.' are allowed, a leading '-' is not.
        assert!(is_valid_agency_id("a_b"));
        assert!(!is_valid_agency_id("-ab"));
        assert!(!is_valid_agency_id(&"a".repeat(65)));
    }

    /// TLS used to have its own rule: it accepted `-jobota` (which the domain refuses) and refused
    /// `ward.east` and `child_services` (which the domain accepts). Now the two agree.
    #[test]
    fn agency_from_cert_follows_the_domain_rule() {
        for id in ["-jobota", "-", "_x", ".x"] {
            assert!(crate::domain::AgencyId::parse(id).is_err());
            let cert = cert_with_sans(vec![uri(&format!("urn:tsunagi:agency:{id}"))]);
            assert!(
                matches!(agency_from_cert(&cert), Err(TlsError::InvalidAgencyId(_))),
                "{id:?} should be refused"
            );
        }
        for id in ["ward.east", "child_services", "a1-"] {
            let parsed = crate::domain::AgencyId::parse(id).unwrap();
            let cert = cert_with_sans(vec![uri(&format!("urn:tsunagi:agency:{id}"))]);
            assert_eq!(agency_from_cert(&cert).unwrap(), parsed.as_str());
        }
    }
}
