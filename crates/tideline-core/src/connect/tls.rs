//! rustls configured the way libpq reads sslmode:
//! - prefer / require: encrypt, verify nothing (unless require has a root cert — sslrootcert,
//!   or ~/.postgresql/root.crt when it exists — which libpq then treats as verify-ca);
//! - sslrootcert=system: only with verify-full;
//! - verify-ca: the chain must lead to the root certificate; the host name is not checked;
//! - verify-full: chain and host name.
//!
//! Client certificates (sslcert/sslkey) are offered when set.

use super::errors::ConnectFailure;
use crate::error::{Error, ErrorCode};
use crate::profile::{ProfileDraft, SslMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

fn tls_config_error(message: String, hint: &str) -> ConnectFailure {
    ConnectFailure::Engine(Error::new(ErrorCode::TlsConfig, message, hint))
}

pub(super) fn connector(draft: &ProfileDraft) -> Result<MakeRustlsConnect, ConnectFailure> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let root_path = root_cert_path(draft);
    // The public web roots vouch for anyone's certificate: only the host name check makes them
    // mean "this server". libpq refuses the combination too.
    if root_path.as_deref() == Some("system") && draft.sslmode != SslMode::VerifyFull {
        return Err(tls_config_error(
            format!("sslrootcert=system with sslmode={} would accept any publicly trusted certificate as the server's", draft.sslmode.as_str()),
            "Use sslmode=verify-full with sslrootcert=system, or give sslrootcert the CA file that signed the server's certificate.",
        ));
    }
    let verify_chain = verifies_with(draft, root_path.is_some());
    let verifier: Arc<dyn ServerCertVerifier> = if verify_chain {
        let roots = load_roots(root_path)?;
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().map_err(|e| {
                tls_config_error(format!("the root certificates cannot be used: {e}"), "Check sslrootcert.")
            })?;
        if draft.sslmode == SslMode::VerifyFull {
            webpki
        } else {
            Arc::new(ChainOnly(webpki))
        }
    } else {
        Arc::new(EncryptOnly(provider.clone()))
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_config_error(format!("TLS setup failed: {e}"), "This is a bug in Tideline."))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&draft.sslcert, &draft.sslkey) {
        (Some(cert), Some(key)) => {
            let certs = read_certs(&PathBuf::from(cert))?;
            let key = read_key(&PathBuf::from(key))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                tls_config_error(
                    format!("the client certificate cannot be used: {e}"),
                    "Check that sslcert and sslkey belong together.",
                )
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// Whether the server's certificate is checked, so that nobody in the middle can pose as it:
/// verify-ca, verify-full, and require with a root certificate (given, or libpq's
/// ~/.postgresql/root.crt), which libpq treats as verify-ca.
pub(crate) fn verifies_server(draft: &ProfileDraft) -> bool {
    verifies_with(draft, root_cert_path(draft).is_some())
}

fn verifies_with(draft: &ProfileDraft, has_root: bool) -> bool {
    matches!(draft.sslmode, SslMode::VerifyCa | SslMode::VerifyFull) || (draft.sslmode == SslMode::Require && has_root)
}

/// libpq's default root certificate file is ~/.postgresql/root.crt.
fn root_cert_path(draft: &ProfileDraft) -> Option<String> {
    draft.sslrootcert.clone().or_else(|| {
        let default = dirs::home_dir()?.join(".postgresql").join("root.crt");
        default.exists().then(|| default.display().to_string())
    })
}

fn load_roots(path: Option<String>) -> Result<RootCertStore, ConnectFailure> {
    let mut roots = RootCertStore::empty();
    match path.as_deref() {
        None => {
            return Err(tls_config_error(
                "verify-ca and verify-full need a root certificate, and none is set".into(),
                "Set sslrootcert to the CA certificate that signed the server's certificate, or to 'system' for the public web roots.",
            ))
        }
        Some("system") => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(p) => {
            for cert in read_certs(&PathBuf::from(p))? {
                roots.add(cert).map_err(|e| tls_config_error(format!("{p} is not a usable CA certificate: {e}"), "Check sslrootcert."))?;
            }
        }
    }
    Ok(roots)
}

fn read_certs(path: &PathBuf) -> Result<Vec<CertificateDer<'static>>, ConnectFailure> {
    let pem = std::fs::read(path)
        .map_err(|e| tls_config_error(format!("cannot read {}: {e}", path.display()), "Check the certificate path."))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice()).collect::<Result<_, _>>().map_err(|e| {
        tls_config_error(format!("{} is not a PEM certificate file: {e}", path.display()), "Give a PEM file.")
    })?;
    if certs.is_empty() {
        return Err(tls_config_error(format!("{} holds no certificate", path.display()), "Give a PEM file."));
    }
    Ok(certs)
}

fn read_key(path: &PathBuf) -> Result<PrivateKeyDer<'static>, ConnectFailure> {
    let pem = std::fs::read(path)
        .map_err(|e| tls_config_error(format!("cannot read {}: {e}", path.display()), "Check the sslkey path."))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| tls_config_error(format!("{} holds no private key", path.display()), "Give a PEM private key."))
}

/// verify-ca: a valid chain to the root is enough; a host name mismatch is accepted.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// prefer / require: encryption without authentication of the server, as libpq does.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
