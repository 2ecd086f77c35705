//! TLS to PostgreSQL with libpq's meaning of `sslmode`, `sslrootcert`, `sslcert` and `sslkey`:
//! which handshake a setting asks for, the rustls configuration that performs exactly that,
//! and a plain explanation of a handshake that failed. It opens no socket (tokio-postgres
//! does) and never turns one sslmode into a weaker one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether a connection without TLS is refused.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

/// `sslrootcert`: a PEM file of CA certificates, or `system` (the system's CA bundle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    File(PathBuf),
    System,
}

/// `ssl_min_protocol_version` / `ssl_max_protocol_version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl TlsVersion {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TLSv1" => TlsVersion::V1_0,
            "TLSv1.1" => TlsVersion::V1_1,
            "TLSv1.2" => TlsVersion::V1_2,
            "TLSv1.3" => TlsVersion::V1_3,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "TLSv1",
            TlsVersion::V1_1 => "TLSv1.1",
            TlsVersion::V1_2 => "TLSv1.2",
            TlsVersion::V1_3 => "TLSv1.3",
        }
    }
}

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Encryption only (libpq's `require` without a root certificate file, `prefer`, `allow`).
    Nothing,
    /// The chain must end at a trusted CA (`verify-ca`; `require` with a root certificate file).
    Chain,
    /// The chain, and the host name must be in the certificate (`verify-full`).
    ChainAndName,
}

/// The TLS half of a connection spec, as given (defaults are applied when connecting, the way
/// libpq applies them: `~/.postgresql/root.crt`, `postgresql.crt`, `postgresql.key`).
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// None: libpq's default, `prefer` (`verify-full` with `sslrootcert=system`).
    pub mode: Option<SslMode>,
    /// None: `~/.postgresql/root.crt` when that file exists.
    pub root_cert: Option<RootCert>,
    /// None: `~/.postgresql/postgresql.crt` when that file exists.
    pub cert: Option<PathBuf>,
    /// None: `~/.postgresql/postgresql.key`.
    pub key: Option<PathBuf>,
    /// `sslsni`; None: on.
    pub sni: Option<bool>,
    pub min_protocol: Option<TlsVersion>,
    pub max_protocol: Option<TlsVersion>,
    /// `sslnegotiation=direct` (PostgreSQL 17): TLS right away, without the SSLRequest.
    pub direct: bool,
    /// `sslcertmode=disable`: never send a client certificate.
    pub no_client_cert: bool,
    /// A CA bundle the tool wrote itself (several trusted certificates from kong.conf), kept
    /// on disk as long as any copy of the spec lives: held, never read.
    #[allow(dead_code)]
    pub(crate) bundle: Option<Arc<tempfile::TempDir>>,
}

/// A TLS setting that cannot be used: what is wrong, and how to fix it.
#[derive(Debug, Clone)]
pub struct TlsSetupError {
    pub detail: String,
    pub fix: String,
}

fn setup_error(detail: impl Into<String>, fix: impl Into<String>) -> TlsSetupError {
    TlsSetupError {
        detail: detail.into(),
        fix: fix.into(),
    }
}

impl TlsSettings {
    pub fn effective_mode(&self) -> SslMode {
        match (self.mode, &self.root_cert) {
            (Some(m), _) => m,
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        }
    }

    /// The root certificate file this spec trusts, and whether it exists. `system` is the
    /// system CA bundle; no setting is libpq's `~/.postgresql/root.crt`.
    pub fn root_file(&self) -> Result<Option<PathBuf>, TlsSetupError> {
        match &self.root_cert {
            Some(RootCert::File(p)) => Ok(Some(p.clone())),
            Some(RootCert::System) => system_bundle().map(Some),
            None => Ok(home_file("root.crt")),
        }
    }

    /// How the server certificate is checked under these settings (libpq: `require`, and even
    /// `prefer`, verify the chain when a root certificate file is present).
    pub fn verification(&self) -> Verify {
        match self.effective_mode() {
            SslMode::VerifyFull => Verify::ChainAndName,
            SslMode::VerifyCa => Verify::Chain,
            SslMode::Disable => Verify::Nothing,
            _ => match self.root_file() {
                Ok(Some(p)) if p.is_file() => Verify::Chain,
                _ => Verify::Nothing,
            },
        }
    }

    /// The client certificate and key files that would be sent, if any (libpq sends the
    /// default `~/.postgresql/postgresql.crt` when it exists).
    pub fn client_files(&self) -> Result<Option<(PathBuf, PathBuf)>, TlsSetupError> {
        if self.no_client_cert {
            return Ok(None);
        }
        let cert = match &self.cert {
            Some(c) => c.clone(),
            None => match home_file("postgresql.crt") {
                Some(c) => c,
                None => return Ok(None),
            },
        };
        if !cert.is_file() {
            if self.cert.is_some() {
                // libpq goes on without a client certificate when the file is missing.
                tracing::warn!(
                    "sslcert {} does not exist; connecting without a client certificate, as \
                     libpq does",
                    cert.display()
                );
            }
            return Ok(None);
        }
        let key = match &self.key {
            Some(k) => k.clone(),
            None => home_file("postgresql.key").unwrap_or_else(|| PathBuf::from("postgresql.key")),
        };
        if !key.is_file() {
            return Err(setup_error(
                format!(
                    "the client certificate {} is there, but not its private key file {}",
                    cert.display(),
                    key.display()
                ),
                "give the key with sslkey=FILE (or PGSSLKEY), next to sslcert",
            ));
        }
        Ok(Some((cert, key)))
    }

    /// The rustls configuration for these settings. Built for every connection attempt, so a
    /// certificate renewed on disk is picked up, as with libpq.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let versions = self.protocol_versions()?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| setup_error(format!("TLS setup failed: {e}"), "this is a bug"))?;
        let verification = self.verification();
        let verifier: Arc<dyn ServerCertVerifier> = match verification {
            Verify::Nothing => Arc::new(AcceptAnyCertificate(algorithms)),
            Verify::Chain | Verify::ChainAndName => {
                let roots = self.roots()?;
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| {
                        setup_error(
                            format!("the root certificates cannot be used: {e}"),
                            "give a PEM file of CA certificates with sslrootcert",
                        )
                    })?;
                if verification == Verify::Chain {
                    Arc::new(ChainOnly(webpki))
                } else {
                    webpki
                }
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match self.client_files()? {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                check_key_permissions(&key)?;
                let chain = CertificateDer::pem_file_iter(&cert)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        setup_error(
                            format!("cannot read the client certificate {}: {e}", cert.display()),
                            "sslcert must be a PEM certificate file",
                        )
                    })?;
                let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| {
                    setup_error(
                        format!("cannot read the private key {}: {e}", key.display()),
                        "sslkey must be an unencrypted PEM private key (PKCS#8, PKCS#1 or \
                         SEC1); kong-rehearse cannot use sslpassword",
                    )
                })?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    setup_error(
                        format!(
                            "the client certificate {} and key {} do not go together: {e}",
                            cert.display(),
                            key.display()
                        ),
                        "give the key that belongs to sslcert",
                    )
                })?
            }
        };
        config.enable_sni = self.sni.unwrap_or(true);
        if self.direct {
            // Direct negotiation is recognised by the server through ALPN.
            config.alpn_protocols = vec![b"postgresql".to_vec()];
        }
        Ok(Arc::new(config))
    }

    fn protocol_versions(
        &self,
    ) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsSetupError> {
        // libpq's default minimum is TLSv1.2; rustls offers nothing older anyway.
        let min = self.min_protocol.unwrap_or(TlsVersion::V1_2);
        let max = self.max_protocol.unwrap_or(TlsVersion::V1_3);
        let mut v = vec![];
        if min <= TlsVersion::V1_2 && max >= TlsVersion::V1_2 {
            v.push(&rustls::version::TLS12);
        }
        if max >= TlsVersion::V1_3 {
            v.push(&rustls::version::TLS13);
        }
        if v.is_empty() {
            return Err(setup_error(
                format!(
                    "ssl_max_protocol_version={} allows only TLS versions older than 1.2, which \
                     kong-rehearse does not speak",
                    max.as_str()
                ),
                "allow TLSv1.2 or newer (PostgreSQL's own default minimum is TLSv1.2)",
            ));
        }
        Ok(v)
    }

    fn roots(&self) -> Result<RootCertStore, TlsSetupError> {
        let file = match self.root_file()? {
            Some(f) if f.is_file() => f,
            other => {
                let shown = other
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "~/.postgresql/root.crt".into());
                return Err(setup_error(
                    format!(
                        "sslmode={} needs the CA certificate that signed the server's \
                         certificate, and the root certificate file {shown} does not exist",
                        self.effective_mode().as_str()
                    ),
                    "give the CA file with sslrootcert=FILE (or PGSSLROOTCERT; managed \
                     services publish theirs, e.g. RDS's global-bundle.pem), use \
                     sslrootcert=system to trust the system's CA store, or use sslmode=require \
                     to encrypt without verifying the server",
                ));
            }
        };
        let certs = CertificateDer::pem_file_iter(&file)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                setup_error(
                    format!(
                        "cannot read the root certificate file {}: {e}",
                        file.display()
                    ),
                    "sslrootcert must be a PEM file of CA certificates",
                )
            })?;
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(setup_error(
                format!(
                    "the root certificate file {} holds no usable CA certificate",
                    file.display()
                ),
                "sslrootcert must be a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)",
            ));
        }
        Ok(store)
    }
}

/// A configuration that verifies nothing and sends no certificate, for a connection that
/// does not use TLS at all (sslmode=disable, unix sockets).
pub fn plain_config() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(algorithms)))
        .with_no_client_auth();
    Arc::new(config)
}

/// libpq refuses a private key others can read: 0600 or less when the current user owns it,
/// 0640 or less when root does.
fn check_key_permissions(key: &Path) -> Result<(), TlsSetupError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(key).map_err(|e| {
        setup_error(
            format!("cannot read the private key {}: {e}", key.display()),
            "check sslkey",
        )
    })?;
    let mode = m.mode();
    let too_open = if m.uid() == 0 {
        mode & 0o037 != 0
    } else {
        mode & 0o077 != 0
    };
    if too_open {
        return Err(setup_error(
            format!(
                "the private key file {} has group or world access (mode {:o})",
                key.display(),
                mode & 0o777
            ),
            format!(
                "make it private, as libpq requires: `chmod 0600 {}` (0640 when root owns it)",
                key.display()
            ),
        ));
    }
    Ok(())
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.dir)
        })
}

/// `~/.postgresql/NAME`, where libpq looks when the setting is not given.
fn home_file(name: &str) -> Option<PathBuf> {
    home_dir().map(|h| h.join(".postgresql").join(name))
}

/// The system's CA bundle: `SSL_CERT_FILE`, else the first bundle found where the common
/// distributions keep it (the list Kong uses for `lua_ssl_trusted_certificate = system`).
pub fn system_bundle() -> Result<PathBuf, TlsSetupError> {
    const PATHS: [&str; 6] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/tls/cacert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];
    if let Some(f) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        return Ok(PathBuf::from(f));
    }
    PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            setup_error(
                format!(
                    "sslrootcert=system, and no system CA bundle was found (SSL_CERT_FILE is \
                     unset; looked in {})",
                    PATHS.join(", ")
                ),
                "install the CA certificates package (Debian/Ubuntu: `apt-get install -y \
                 ca-certificates`), set SSL_CERT_FILE, or give the CA file with \
                 sslrootcert=FILE",
            )
        })
}

/// Encryption without authentication of the server: what libpq does for `require` without a
/// root certificate. The handshake signatures are still checked, so the session key is the
/// one the presented certificate holds.
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// libpq's `verify-ca`: the full WebPKI chain check, without the host name. webpki checks the
/// name last, so a name mismatch means everything else passed.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls error somewhere in the chain of `e`, if the failure was the TLS handshake.
/// (`io::Error::source` skips the error it wraps, so each io::Error is unwrapped by hand.)
pub fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                    return Some(r);
                }
            }
        }
        cur = err.source();
    }
    None
}

/// What a failed handshake means and what to do, in the words of the setting involved.
pub fn explain_handshake(e: &rustls::Error, host: &str, tls: &TlsSettings) -> (String, String) {
    let roots = match tls.root_file() {
        Ok(Some(p)) => match &tls.root_cert {
            Some(RootCert::System) => format!("the system CA store ({})", p.display()),
            _ => p.display().to_string(),
        },
        _ => "the root certificate file".into(),
    };
    let mode = tls.effective_mode().as_str();
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => (
                format!(
                    "the server's certificate is not signed by a CA in {roots} (certificate \
                     verify failed: unknown issuer)"
                ),
                "give the CA that signed the server's certificate with sslrootcert=FILE \
                 (managed services publish theirs, e.g. RDS's global-bundle.pem, Azure's \
                 DigiCert Global Root G2), or sslrootcert=system when a public CA signed it"
                    .into(),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let presented = match c {
                    CertificateError::NotValidForNameContext { presented, .. } => {
                        format!(" (it names {})", presented.join(", "))
                    }
                    _ => String::new(),
                };
                (
                    format!(
                        "the server's certificate does not name the host {host}{presented} \
                         (sslmode={mode} checks the host name)"
                    ),
                    "connect with a host name the certificate names (the endpoint name, not an \
                     IP address or a CNAME), or use sslmode=verify-ca to check the CA only"
                        .into(),
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                "the server's certificate has expired".into(),
                "renew the server certificate (or check this machine's clock)".into(),
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                "the server's certificate is not valid yet".into(),
                "check this machine's clock, or the server certificate's start date".into(),
            ),
            CertificateError::Revoked => (
                "the server's certificate is revoked".into(),
                "the server needs a new certificate".into(),
            ),
            other => (
                format!("the server's certificate was rejected ({other:?})"),
                format!(
                    "check the server certificate against {roots}; sslmode=require encrypts \
                     without verifying"
                ),
            ),
        },
        rustls::Error::AlertReceived(alert) => {
            let client = tls.client_files().ok().flatten();
            match client {
                Some((cert, _)) => (
                    format!(
                        "the server ended the TLS handshake ({alert:?}): it did not accept the \
                         client certificate {}",
                        cert.display()
                    ),
                    "use a client certificate signed by a CA in the server's ssl_ca_file, with \
                     its key in sslkey"
                        .into(),
                ),
                None => (
                    format!("the server ended the TLS handshake ({alert:?})"),
                    "if the server requires a client certificate (clientcert or `cert` in \
                     pg_hba.conf), give it with sslcert=FILE sslkey=FILE"
                        .into(),
                ),
            }
        }
        other => (
            format!("the TLS handshake failed: {other}"),
            "check that the server speaks TLS 1.2 or 1.3 on that port (a proxy in front of \
             PostgreSQL may not)"
                .into(),
        ),
    }
}

/// Reads `sslrootcert`, `sslcert` and the other TLS keywords of a resolved conninfo.
pub(super) fn from_values(
    v: &std::collections::BTreeMap<&'static str, String>,
) -> Result<TlsSettings, String> {
    let mut t = TlsSettings::default();
    let get = |k: &str| v.get(k).map(String::as_str).filter(|s| !s.is_empty());
    if let Some(m) = get("sslmode") {
        t.mode = Some(SslMode::parse(m).ok_or_else(|| {
            format!(
                "invalid sslmode value `{m}`: use disable, allow, prefer, require, verify-ca or \
                 verify-full"
            )
        })?);
    } else if get("requiressl") == Some("1") {
        t.mode = Some(SslMode::Require);
    }
    match get("sslrootcert") {
        Some("system") => {
            if let Some(m) = t.mode {
                if m != SslMode::VerifyFull {
                    return Err(format!(
                        "weak sslmode `{}` may not be used with sslrootcert=system (use \
                         verify-full)",
                        m.as_str()
                    ));
                }
            }
            t.root_cert = Some(RootCert::System);
        }
        Some(f) => t.root_cert = Some(RootCert::File(PathBuf::from(f))),
        None => {}
    }
    t.cert = get("sslcert").map(PathBuf::from);
    t.key = get("sslkey").map(PathBuf::from);
    if let Some(s) = get("sslsni") {
        t.sni = Some(s != "0");
    }
    for (key, slot) in [
        ("ssl_min_protocol_version", &mut t.min_protocol),
        ("ssl_max_protocol_version", &mut t.max_protocol),
    ] {
        if let Some(s) = get(key) {
            *slot = Some(TlsVersion::parse(s).ok_or_else(|| {
                format!("invalid {key} value `{s}`: use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3")
            })?);
        }
    }
    match get("sslnegotiation") {
        None | Some("postgres") => {}
        Some("direct") => {
            if !matches!(t.mode, Some(m) if m.requires_tls()) {
                return Err(
                    "sslnegotiation=direct needs sslmode=require, verify-ca or verify-full".into(),
                );
            }
            t.direct = true;
        }
        Some(other) => {
            return Err(format!(
                "invalid sslnegotiation value `{other}`: use postgres or direct"
            ))
        }
    }
    match get("sslcertmode") {
        None | Some("allow") => {}
        Some("disable") => t.no_client_cert = true,
        Some("require") => {
            return Err(
                "sslcertmode=require is not supported by kong-rehearse: it cannot tell whether \
                 the server asked for the client certificate; leave sslcertmode unset (allow)"
                    .into(),
            )
        }
        Some(other) => {
            return Err(format!(
                "invalid sslcertmode value `{other}`: use disable, allow or require"
            ))
        }
    }
    Ok(t)
}
