//! Development PKI and keys for Tsunagi, generated with rcgen (ring backend):
//! a dev CA, a localhost server certificate, one client certificate per
//! default agency, a revoked client certificate plus the CRL that revokes
//! it, the dev JWT signing key and its JWKS, and the dev symmetric keys.
//!
//! DEVELOPMENT ONLY. Everything written here is meant to be committed so
//! that a fresh checkout runs; none of it may ever be used in production.
//! The test helpers [`issue_client_cert`] and [`foreign_client_cert`] make
//! expired, not-yet-valid and untrusted certificates for negative tests.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams,
    SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::tls::{AGENCY_URI_PREFIX, is_valid_agency_id};

/// The agencies that get a development client certificate.
pub const DEFAULT_AGENCIES: [&str; 6] = [
    "regional-support-centre",
    "disability-centre",
    "jobota",
    "sapota",
    "child-services",
    "welfare-coordination",
];
/// JWT `iss` of dev tokens.
/// Marker file written next to development keys; a configured key file in a directory that
/// holds it is development material and refused in production.
pub const DEV_MARKER: &str = "DEVELOPMENT-ONLY";
/// JWT issuer of development tokens.
pub const DEV_ISSUER: &str = "tsunagi-dev";
/// JWT `aud` of dev tokens.
pub const DEV_AUDIENCE: &str = "tsunagi";
/// `kid` of the dev JWT signing key in `jwks.json`.
pub const DEV_JWT_KID: &str = "dev-ed25519-1";

/// Common name of the development CA.
pub const DEV_CA_COMMON_NAME: &str = "Tsunagi Development CA — NOT FOR PRODUCTION";
/// Agency the revoked development client certificate belongs to.
pub const REVOKED_AGENCY: &str = "jobota";

const DEV_NOT_BEFORE: OffsetDateTime = datetime!(2025-01-01 00:00 UTC);
const DEV_NOT_AFTER: OffsetDateTime = datetime!(2045-01-01 00:00 UTC);

/// Whether a file holds secret material (and so gets mode 0600).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secrecy {
    Public,
    Secret,
}

/// (Re)generates the whole development PKI and keys into `dir`, creating it.
///
/// Files: `ca.pem`/`ca.key`, `server.pem`/`server.key`,
/// `clients/<agency>.pem`/`.key` for each of [`DEFAULT_AGENCIES`],
/// `clients/revoked.pem`/`.key` (agency `jobota`, revoked by `crl.pem`),
/// `crl.pem`, `jwt-signing.key` (Ed25519 PKCS#8 PEM), `jwks.json`,
/// `kek.key`, `audit-signing.key`, `pseudonym.key` (32 bytes, base64, one
/// line each) and `README.md`. Every certificate has a distinct random
/// serial; private keys are written with mode 0600 on unix.
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    let clients = dir.join("clients");
    fs::create_dir_all(&clients).with_context(|| format!("cannot create directory {}", clients.display()))?;
    let rng = SystemRandom::new();

    // CA
    let ca_key = KeyPair::generate().context("generating CA key")?;
    let ca_params = ca_params(DEV_CA_COMMON_NAME, &rng)?;
    let ca_cert = ca_params.self_signed(&ca_key).context("self-signing the dev CA")?;
    write_file(&dir.join("ca.pem"), ca_cert.pem().as_bytes(), Secrecy::Public)?;
    write_file(&dir.join("ca.key"), ca_key.serialize_pem().as_bytes(), Secrecy::Secret)?;
    let issuer = Issuer::new(ca_params, ca_key);

    // Server
    let server_key = KeyPair::generate().context("generating server key")?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])
        .context("server certificate names")?;
    server.distinguished_name = common_name("localhost");
    server.not_before = DEV_NOT_BEFORE;
    server.not_after = DEV_NOT_AFTER;
    server.serial_number = Some(random_serial(&rng)?);
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    let server_cert = server
        .signed_by(&server_key, &issuer)
        .context("signing the server certificate")?;
    write_file(&dir.join("server.pem"), server_cert.pem().as_bytes(), Secrecy::Public)?;
    write_file(
        &dir.join("server.key"),
        server_key.serialize_pem().as_bytes(),
        Secrecy::Secret,
    )?;

    // Agency client certificates
    for agency in DEFAULT_AGENCIES {
        let (cert, key, _) = client_cert(&issuer, agency, agency, DEV_NOT_BEFORE, DEV_NOT_AFTER)?;
        write_file(&clients.join(format!("{agency}.pem")), cert.as_bytes(), Secrecy::Public)?;
        write_file(&clients.join(format!("{agency}.key")), key.as_bytes(), Secrecy::Secret)?;
    }

    // Revoked client certificate and the CRL that revokes it
    let (cert, key, revoked_serial) = client_cert(
        &issuer,
        REVOKED_AGENCY,
        &format!("{REVOKED_AGENCY} (revoked)"),
        DEV_NOT_BEFORE,
        DEV_NOT_AFTER,
    )?;
    write_file(&clients.join("revoked.pem"), cert.as_bytes(), Secrecy::Public)?;
    write_file(&clients.join("revoked.key"), key.as_bytes(), Secrecy::Secret)?;

    // The CRL is dated when the development PKI is generated.
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let now_secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let crl = CertificateRevocationListParams {
        this_update: now,
        next_update: DEV_NOT_AFTER,
        // Seconds since the epoch: increases each time the PKI is regenerated.
        crl_number: SerialNumber::from_slice(&now_secs.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: revoked_serial,
            revocation_time: now,
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .context("signing the CRL")?;
    write_file(
        &dir.join("crl.pem"),
        crl.pem().context("encoding the CRL")?.as_bytes(),
        Secrecy::Public,
    )?;

    // JWT signing key and JWKS
    let jwt_key = KeyPair::generate_for(&rcgen::PKCS_ED25519).context("generating JWT key")?;
    write_file(
        &dir.join("jwt-signing.key"),
        jwt_key.serialize_pem().as_bytes(),
        Secrecy::Secret,
    )?;
    let jwks = serde_json::json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(jwt_key.public_key_raw()),
            "kid": DEV_JWT_KID,
            "alg": "EdDSA",
            "use": "sig",
        }]
    });
    let mut jwks_text = serde_json::to_string_pretty(&jwks).context("encoding JWKS")?;
    jwks_text.push('\n');
    write_file(&dir.join("jwks.json"), jwks_text.as_bytes(), Secrecy::Public)?;

    // Symmetric / seed keys
    for name in ["kek.key", "audit-signing.key", "pseudonym.key"] {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("system random generator failed"))?;
        let line = format!("{}\n", STANDARD.encode(bytes));
        write_file(&dir.join(name), line.as_bytes(), Secrecy::Secret)?;
    }

    write_file(&dir.join("README.md"), README.as_bytes(), Secrecy::Public)?;
    write_file(
        &dir.join(DEV_MARKER),
        b"The files in this directory are development keys. Tsunagi refuses them when environment = production.\n",
        Secrecy::Public,
    )?;
    Ok(())
}

/// Issues a client certificate for `agency` signed by the CA in
/// `ca_cert_pem`/`ca_key_pem` with the given validity; returns
/// (cert PEM, key PEM). Used by tests to make expired / not-yet-valid
/// certificates.
pub fn issue_client_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    agency: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> anyhow::Result<(String, String)> {
    let issuer = issuer_from_pem(ca_cert_pem, ca_key_pem)?;
    let (cert, key, _) = client_cert(&issuer, agency, agency, not_before, not_after)?;
    Ok((cert, key))
}

/// A CRL signed by the CA in `ca_cert_pem`/`ca_key_pem` that revokes the certificates with
/// these serial numbers (raw bytes) and names `next_update`; returns its PEM. Used by tests
/// that revoke a certificate while the hub runs.
pub fn crl_revoking(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    serials: &[Vec<u8>],
    next_update: OffsetDateTime,
) -> anyhow::Result<String> {
    let issuer = issuer_from_pem(ca_cert_pem, ca_key_pem)?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    let now_secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let crl = CertificateRevocationListParams {
        this_update: now - time::Duration::minutes(1),
        next_update,
        crl_number: SerialNumber::from_slice(&now_secs.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(s),
                revocation_time: now - time::Duration::minutes(1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .context("signing the CRL")?;
    crl.pem().context("encoding the CRL")
}

/// A throwaway self-signed CA and a client cert for `agency` issued by it:
/// returns (ca PEM, client cert PEM, client key PEM). Used by tests for
/// "unknown CA".
pub fn foreign_client_cert(agency: &str) -> anyhow::Result<(String, String, String)> {
    let rng = SystemRandom::new();
    let ca_key = KeyPair::generate().context("generating foreign CA key")?;
    let params = ca_params("Foreign Test CA — untrusted by Tsunagi", &rng)?;
    let ca_cert = params.self_signed(&ca_key).context("self-signing foreign CA")?;
    let issuer = Issuer::new(params, ca_key);
    let (cert, key, _) = client_cert(&issuer, agency, agency, DEV_NOT_BEFORE, DEV_NOT_AFTER)?;
    Ok((ca_cert.pem(), cert, key))
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, rng: &SystemRandom) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(cn);
    params.not_before = DEV_NOT_BEFORE;
    params.not_after = DEV_NOT_AFTER;
    params.serial_number = Some(random_serial(rng)?);
    // Path length 0: the CA issues leaf certificates only.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// Signs a client certificate; returns (cert PEM, key PEM, serial).
fn client_cert(
    issuer: &Issuer<'_, KeyPair>,
    agency: &str,
    cn: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> anyhow::Result<(String, String, SerialNumber)> {
    if !is_valid_agency_id(agency) {
        bail!("invalid agency id {agency:?}: expected 1-64 of [a-z0-9-_.], starting with a letter or digit");
    }
    if not_after <= not_before {
        bail!("certificate not_after must be later than not_before");
    }
    let rng = SystemRandom::new();
    let key = KeyPair::generate().context("generating client key")?;
    let serial = random_serial(&rng)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(cn);
    params.subject_alt_names = vec![SanType::URI(
        format!("{AGENCY_URI_PREFIX}{agency}")
            .as_str()
            .try_into()
            .context("agency URI")?,
    )];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial.clone());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, issuer)
        .with_context(|| format!("signing client certificate for {agency}"))?;
    Ok((cert.pem(), key.serialize_pem(), serial))
}

/// A random positive 16-byte serial number (RFC 5280: at most 20 octets).
fn random_serial(rng: &SystemRandom) -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("system random generator failed"))?;
    // Clear the sign bit and set the next one: positive, always 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Rebuilds an rcgen [`Issuer`] from an existing CA certificate and key.
///
/// rcgen's own `Issuer::from_ca_cert_pem` needs its `x509-parser` feature,
/// which is not enabled, so the subject DN is copied here with x509-parser.
fn issuer_from_pem(ca_cert_pem: &str, ca_key_pem: &str) -> anyhow::Result<Issuer<'static, KeyPair>> {
    let der = CertificateDer::from_pem_slice(ca_cert_pem.as_bytes())
        .map_err(|_| anyhow::anyhow!("CA certificate is not a PEM certificate"))?;
    let (_, ca) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| anyhow::anyhow!("CA certificate is not valid X.509: {e}"))?;
    if !ca.is_ca() {
        bail!("the given CA certificate is not a CA (basicConstraints cA is false)");
    }
    let key = KeyPair::from_pem(ca_key_pem).context("CA key is not a usable private key")?;
    if ca.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        bail!("CA key does not match the CA certificate");
    }

    let mut dn = DistinguishedName::new();
    for rdn in ca.subject().iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            bail!("CA subject has an empty or multi-valued RDN, which is not supported");
        };
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or_else(|| anyhow::anyhow!("CA subject has an unsupported attribute OID"))?
            .collect();
        let value = attr.attr_value();
        let text = std::str::from_utf8(value.data).context("CA subject attribute is not text")?;
        use x509_parser::der_parser::asn1_rs::Tag;
        let dn_value = match value.header.tag() {
            Tag::Utf8String => DnValue::Utf8String(text.to_owned()),
            Tag::PrintableString => DnValue::PrintableString(text.try_into()?),
            Tag::Ia5String => DnValue::Ia5String(text.try_into()?),
            other => bail!("CA subject attribute has unsupported string type {other:?}"),
        };
        dn.push(DnType::from_oid(&oid), dn_value);
    }

    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(Issuer::new(params, key))
}

/// Writes `contents` to `path`, replacing any existing file. Secret files are
/// created with mode 0600 on unix (never briefly world-readable).
fn write_file(path: &Path, contents: &[u8], secrecy: Secrecy) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", path.display())),
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secrecy == Secrecy::Secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secrecy;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

const README: &str = "\
# ⚠️ DEVELOPMENT KEYS ONLY — NEVER USE IN PRODUCTION ⚠️

Everything in this directory is a **development-only** PKI and key set for
Tsunagi. It is **committed to the repository on purpose** so that a fresh
checkout can run the hub, the tests and the benchmark without any setup.

Because these private keys are public, they protect nothing:

- **NEVER** use any of these files in production, staging, or with real data.
- **NEVER** add this CA to any system or browser trust store.
- Production deployments must use their own CA, server certificate, JWT
  issuer and secret keys, provisioned outside the repository.

Regenerate everything with:

    tsunagi dev-certs

## Files

| file | what |
| --- | --- |
| `ca.pem`, `ca.key` | development CA (\"Tsunagi Development CA — NOT FOR PRODUCTION\") |
| `server.pem`, `server.key` | server certificate for `localhost`, `127.0.0.1`, `::1` |
| `clients/<agency>.pem`, `clients/<agency>.key` | client certificate per default agency (SAN URI `urn:tsunagi:agency:<agency>`) |
| `clients/revoked.pem`, `clients/revoked.key` | client certificate for `jobota` that `crl.pem` revokes |
| `crl.pem` | CRL signed by the development CA |
| `jwt-signing.key` | Ed25519 PKCS#8 key that signs development user JWTs |
| `jwks.json` | JWKS with the public half of `jwt-signing.key` (kid `dev-ed25519-1`) |
| `kek.key` | development key-encryption key (32 bytes, base64) |
| `audit-signing.key` | development audit checkpoint signing key (Ed25519 seed, base64) |
| `pseudonym.key` | development HMAC pseudonym key (32 bytes, base64) |
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::agency_from_cert;
    use rustls_pki_types::CertificateRevocationListDer;
    use std::collections::HashSet;

    fn cert_der(path: &Path) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(path).unwrap()
    }

    fn serial_of(der: &CertificateDer<'_>) -> Vec<u8> {
        let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        c.raw_serial().to_vec()
    }

    /// Checks an ECDSA P-256 signature of `cert` with `ca`'s public key (ring).
    fn assert_signed_by(
        cert: &x509_parser::certificate::X509Certificate<'_>,
        ca: &x509_parser::certificate::X509Certificate<'_>,
    ) {
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            ca.public_key().subject_public_key.data.as_ref(),
        );
        key.verify(cert.tbs_certificate.as_ref(), cert.signature_value.data.as_ref())
            .unwrap();
    }

    const EXPECTED_FILES: [&str; 13] = [
        "ca.pem",
        "ca.key",
        "server.pem",
        "server.key",
        "clients/revoked.pem",
        "clients/revoked.key",
        "crl.pem",
        "jwt-signing.key",
        "jwks.json",
        "kek.key",
        "audit-signing.key",
        "pseudonym.key",
        "README.md",
    ];

    #[test]
    fn generates_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("nested/dev");
        generate(&root).unwrap();
        for f in EXPECTED_FILES {
            assert!(root.join(f).is_file(), "{f} missing");
        }
        for agency in DEFAULT_AGENCIES {
            assert!(root.join(format!("clients/{agency}.pem")).is_file());
            assert!(root.join(format!("clients/{agency}.key")).is_file());
        }
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        assert!(readme.contains("DEVELOPMENT"));
        assert!(readme.contains("tsunagi dev-certs"));
        assert!(readme.contains("committed to the repository on purpose"));
    }

    #[test]
    fn regenerating_replaces_everything() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let first = fs::read(dir.path().join("ca.pem")).unwrap();
        generate(dir.path()).unwrap();
        assert_ne!(first, fs::read(dir.path().join("ca.pem")).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn private_keys_are_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let mut secrets: Vec<String> = [
            "ca.key",
            "server.key",
            "clients/revoked.key",
            "jwt-signing.key",
            "kek.key",
            "audit-signing.key",
            "pseudonym.key",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        secrets.extend(DEFAULT_AGENCIES.iter().map(|a| format!("clients/{a}.key")));
        for s in secrets {
            let mode = fs::metadata(dir.path().join(&s)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{s}");
        }
    }

    #[test]
    fn client_certs_carry_agency_uri_and_cn() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        for agency in DEFAULT_AGENCIES {
            let der = cert_der(&dir.path().join(format!("clients/{agency}.pem")));
            assert_eq!(agency_from_cert(&der).unwrap(), agency);
            let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
            let cn = c.subject().iter_common_name().next().unwrap();
            assert_eq!(cn.as_str().unwrap(), agency);
            let eku = c.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.client_auth && !eku.server_auth);
            assert!(c.validity().is_valid());
        }
        let revoked = cert_der(&dir.path().join("clients/revoked.pem"));
        assert_eq!(agency_from_cert(&revoked).unwrap(), REVOKED_AGENCY);
    }

    #[test]
    fn ca_and_server_certs_have_expected_shape() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let ca = cert_der(&dir.path().join("ca.pem"));
        let (_, ca) = x509_parser::parse_x509_certificate(ca.as_ref()).unwrap();
        assert!(ca.is_ca());
        let cn = ca.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), DEV_CA_COMMON_NAME);
        let ku = ca.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        assert_eq!(ca.validity().not_before.timestamp(), DEV_NOT_BEFORE.unix_timestamp());
        assert_eq!(ca.validity().not_after.timestamp(), DEV_NOT_AFTER.unix_timestamp());

        let server = cert_der(&dir.path().join("server.pem"));
        let (_, server) = x509_parser::parse_x509_certificate(server.as_ref()).unwrap();
        use x509_parser::extensions::GeneralName;
        let san = server.subject_alternative_name().unwrap().unwrap().value;
        let names = &san.general_names;
        assert!(names.contains(&GeneralName::DNSName("localhost")), "{names:?}");
        assert!(names.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])), "{names:?}");
        let v6_loopback = std::net::Ipv6Addr::LOCALHOST.octets();
        assert!(names.contains(&GeneralName::IPAddress(&v6_loopback)), "{names:?}");
        assert!(server.extended_key_usage().unwrap().unwrap().value.server_auth);
    }

    #[test]
    fn serials_are_distinct_and_revoked_serial_is_in_crl() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let mut files = vec!["ca.pem".to_owned(), "server.pem".to_owned()];
        files.push("clients/revoked.pem".to_owned());
        files.extend(DEFAULT_AGENCIES.iter().map(|a| format!("clients/{a}.pem")));
        let serials: HashSet<Vec<u8>> = files
            .iter()
            .map(|f| serial_of(&cert_der(&dir.path().join(f))))
            .collect();
        assert_eq!(serials.len(), files.len());

        let crl_der = CertificateRevocationListDer::from_pem_file(dir.path().join("crl.pem")).unwrap();
        let (_, crl) = x509_parser::parse_x509_crl(crl_der.as_ref()).unwrap();
        let revoked: Vec<Vec<u8>> = crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        let revoked_serial = serial_of(&cert_der(&dir.path().join("clients/revoked.pem")));
        assert_eq!(revoked, vec![revoked_serial]);
        let jobota = serial_of(&cert_der(&dir.path().join("clients/jobota.pem")));
        assert!(!revoked.contains(&jobota));
        let next = crl.next_update().unwrap();
        assert_eq!(next.timestamp(), DEV_NOT_AFTER.unix_timestamp());
        // Signed by the dev CA.
        let ca = cert_der(&dir.path().join("ca.pem"));
        let (_, ca) = x509_parser::parse_x509_certificate(ca.as_ref()).unwrap();
        assert_eq!(crl.issuer(), ca.subject());
    }

    #[test]
    fn jwks_and_secret_files_are_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let jwks: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join("jwks.json")).unwrap()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["kid"], DEV_JWT_KID);
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
        assert_eq!(x.len(), 32);

        let pem = fs::read_to_string(dir.path().join("jwt-signing.key")).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let kp = KeyPair::from_pem(&pem).unwrap();
        assert_eq!(kp.public_key_raw(), x.as_slice());

        let mut seen = HashSet::new();
        for name in ["kek.key", "audit-signing.key", "pseudonym.key"] {
            let text = fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(text.ends_with('\n') && text.lines().count() == 1, "{name}");
            let bytes = STANDARD.decode(text.trim_end()).unwrap();
            assert_eq!(bytes.len(), 32, "{name}");
            assert!(seen.insert(bytes), "{name} repeats another key");
        }
        let seed = STANDARD
            .decode(
                fs::read_to_string(dir.path().join("audit-signing.key"))
                    .unwrap()
                    .trim_end(),
            )
            .unwrap();
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    }

    #[test]
    fn issue_client_cert_uses_requested_validity_and_ca() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let ca_pem = fs::read_to_string(dir.path().join("ca.pem")).unwrap();
        let ca_key = fs::read_to_string(dir.path().join("ca.key")).unwrap();
        let nb = datetime!(2030-01-01 00:00 UTC);
        let na = datetime!(2031-01-01 00:00 UTC);
        let (cert, key) = issue_client_cert(&ca_pem, &ca_key, "sapota", nb, na).unwrap();
        assert!(key.contains("PRIVATE KEY"));
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert_eq!(agency_from_cert(&der).unwrap(), "sapota");
        let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        assert_eq!(c.validity().not_before.timestamp(), nb.unix_timestamp());
        assert_eq!(c.validity().not_after.timestamp(), na.unix_timestamp());
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(ca_der.as_ref()).unwrap();
        assert_eq!(c.issuer().as_raw(), ca.subject().as_raw());
        assert_signed_by(&c, &ca);
    }

    #[test]
    fn issue_client_cert_refuses_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let ca_pem = fs::read_to_string(dir.path().join("ca.pem")).unwrap();
        let ca_key = fs::read_to_string(dir.path().join("ca.key")).unwrap();
        let server_key = fs::read_to_string(dir.path().join("server.key")).unwrap();
        let nb = datetime!(2030-01-01 00:00 UTC);
        let na = datetime!(2031-01-01 00:00 UTC);
        assert!(issue_client_cert(&ca_pem, &ca_key, "Bad/Id", nb, na).is_err());
        assert!(issue_client_cert(&ca_pem, &ca_key, "sapota", na, nb).is_err());
        assert!(issue_client_cert(&ca_pem, &server_key, "sapota", nb, na).is_err());
        let server_pem = fs::read_to_string(dir.path().join("server.pem")).unwrap();
        assert!(issue_client_cert(&server_pem, &server_key, "sapota", nb, na).is_err());
    }

    #[test]
    fn foreign_client_cert_is_from_another_ca() {
        let (ca, cert, key) = foreign_client_cert("jobota").unwrap();
        assert!(key.contains("PRIVATE KEY"));
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert_eq!(agency_from_cert(&der).unwrap(), "jobota");
        let ca_der = CertificateDer::from_pem_slice(ca.as_bytes()).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(ca_der.as_ref()).unwrap();
        let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        assert_signed_by(&c, &ca);
        assert_ne!(
            ca.subject().iter_common_name().next().unwrap().as_str().unwrap(),
            DEV_CA_COMMON_NAME
        );
    }
}
