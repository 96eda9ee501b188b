//! Connecting to a profile's server with tokio-postgres: every query Tideline itself runs goes
//! through here. TLS follows libpq's sslmode semantics (see `tls.rs`).

mod auth_guard;
mod errors;
mod facts;
mod tls;

pub(crate) use tls::verifies_server;

pub use facts::{DatabaseSize, ServerFacts};

use crate::error::Result;
use crate::profile::{ProfileDraft, SslMode};
use crate::secret::Secret;
use std::time::Duration;
use tokio_postgres::Client;

pub fn config(draft: &ProfileDraft, password: Option<&Secret>) -> tokio_postgres::Config {
    let mut cfg = tokio_postgres::Config::new();
    if draft.is_unix_socket() {
        cfg.host_path(&draft.host);
    } else {
        cfg.host(&draft.host);
    }
    cfg.port(draft.port)
        .user(&draft.user)
        .dbname(&draft.database)
        .application_name(draft.application_name.as_deref().unwrap_or("tideline"))
        .connect_timeout(Duration::from_secs(u64::from(draft.connect_timeout_secs.max(1))))
        .ssl_mode(match draft.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
    if let Some(pw) = password {
        cfg.password(pw.expose());
    }
    cfg
}

/// Opens a connection; the connection task runs on the current runtime until the client drops.
pub async fn connect(draft: &ProfileDraft, password: Option<&Secret>) -> Result<Client> {
    open(config(draft, password), draft, password).await
}

/// Like `connect`, sending `options` (`-c name=value …`, as libpq's PGOPTIONS) at startup.
pub async fn connect_with_options(draft: &ProfileDraft, password: Option<&Secret>, options: &str) -> Result<Client> {
    let mut cfg = config(draft, password);
    cfg.options(options);
    open(cfg, draft, password).await
}

async fn open(cfg: tokio_postgres::Config, draft: &ProfileDraft, password: Option<&Secret>) -> Result<Client> {
    // The overall deadline also covers a server that accepts TCP but never answers.
    let deadline = Duration::from_secs(u64::from(draft.connect_timeout_secs.max(1)));
    let refusals = auth_guard::Refusals::default();
    // A password goes only to a verified server, or by SCRAM (which never reveals it).
    let guarded = password.is_some() && !draft.is_unix_socket() && !tls::verifies_server(draft);
    let attempt = async {
        if guarded {
            open_guarded(&cfg, draft, refusals.clone()).await
        } else if draft.sslmode == SslMode::Disable || draft.is_unix_socket() {
            let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
            Ok(running(client, conn))
        } else {
            let tls = tls::connector(draft)?;
            let (client, conn) = cfg.connect(tls).await?;
            Ok(running(client, conn))
        }
    };
    let result: std::result::Result<Client, errors::ConnectFailure> =
        match tokio::time::timeout(deadline, attempt).await {
            Ok(r) => r,
            Err(_) => Err(errors::ConnectFailure::TimedOut),
        };
    let refused = *refusals.lock().expect("refusals");
    result.map_err(|f| match refused {
        Some(method) => errors::insecure_auth(method, draft),
        None => errors::classify(f, draft, password.is_some()),
    })
}

/// Connects over a TCP stream of our own, watched by [`auth_guard`] (and its TLS stream too).
async fn open_guarded(
    cfg: &tokio_postgres::Config,
    draft: &ProfileDraft,
    refusals: auth_guard::Refusals,
) -> std::result::Result<Client, errors::ConnectFailure> {
    use tokio_postgres::tls::MakeTlsConnect;
    let tcp =
        tokio::net::TcpStream::connect((draft.host.as_str(), draft.port)).await.map_err(errors::ConnectFailure::Io)?;
    let _ = tcp.set_nodelay(true);
    let ssl = draft.sslmode != SslMode::Disable;
    let stream = auth_guard::AuthGuard::new(tcp, ssl, refusals.clone());
    Ok(if ssl {
        let mut make = tls::connector(draft)?;
        let connect =
            MakeTlsConnect::<auth_guard::AuthGuard<tokio::net::TcpStream>>::make_tls_connect(&mut make, &draft.host)
                .map_err(|e| errors::ConnectFailure::Io(std::io::Error::other(e)))?;
        let (client, conn) = cfg.connect_raw(stream, auth_guard::GuardedTls::new(connect, refusals)).await?;
        running(client, conn)
    } else {
        let (client, conn) = cfg.connect_raw(stream, tokio_postgres::NoTls).await?;
        running(client, conn)
    })
}

/// The client, with its connection driven on the current runtime until the client drops.
fn running<C>(client: Client, conn: C) -> Client
where
    C: std::future::Future + Send + 'static,
{
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}
