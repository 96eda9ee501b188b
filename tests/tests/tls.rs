//! sslmode as libpq means it, against real servers with real certificates: TLS required by the
//! server, verify-ca / verify-full against a CA, host name checks, and client certificates.

use crate::support::{password, Home, TestCluster};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for DNS:localhost, a client certificate for user postgres, and an
/// unrelated CA.
fn make_certs(dir: &Path) {
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    // rustls accepts only X.509 v3 certificates; an extension makes openssl write v3.
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=Tideline Test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            "-days",
            "2",
            "-subj",
            "/CN=Other CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=postgres",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.crt",
            "-days",
            "2",
            "-extfile",
            "client.ext",
        ],
    );
}

/// Whether the server binary links OpenSSL (the server-only builds of 13, 14 and 16 have no
/// pg_config to ask): its dynamic section names libssl.
fn server_has_openssl(major: u32) -> bool {
    let postgres = Path::new(&crate::support::server(major).dir).join("postgres");
    let bytes = std::fs::read(&postgres).expect("reading postgres");
    bytes.windows(9).any(|w| w == b"libssl.so")
}

fn tls_cluster(major: u32, pw: &str, certs: &Path) -> TestCluster {
    tls_cluster_with(major, pw, certs, "")
}

/// [`tls_cluster`] with `first_rules` ahead of its pg_hba.conf rules.
fn tls_cluster_with(major: u32, pw: &str, certs: &Path, first_rules: &str) -> TestCluster {
    let settings = vec![
        ("ssl".to_string(), "on".to_string()),
        ("ssl_cert_file".to_string(), "'server.crt'".to_string()),
        ("ssl_key_file".to_string(), "'server.key'".to_string()),
        ("ssl_ca_file".to_string(), "'ca.crt'".to_string()),
    ];
    TestCluster::start_prepared(major, Some(pw), settings, |c| {
        let data = c.data_dir();
        let owner = std::fs::metadata(&data).unwrap();
        for f in ["server.crt", "server.key", "ca.crt"] {
            std::fs::copy(certs.join(f), data.join(f)).unwrap();
            std::os::unix::fs::chown(data.join(f), Some(owner.uid()), Some(owner.gid())).unwrap();
            crate::support::set_mode(&data.join(f), 0o600);
        }
        // TCP needs TLS; template1 takes a client certificate instead of a password.
        let hba = std::fs::read_to_string(data.join("pg_hba.conf")).unwrap();
        let hba: String = hba
            .lines()
            .map(|l| if l.starts_with("host ") { l.replacen("host ", "hostssl ", 1) } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n");
        let rules = format!("{first_rules}hostssl template1 postgres 127.0.0.1/32 cert\n{hba}\n");
        std::fs::write(data.join("pg_hba.conf"), rules).unwrap();
    })
}

each_major!(fn sslmodes_and_certificates_on_every_major(major) {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let ca = certs.path().join("ca.crt").display().to_string();
    let other = certs.path().join("other.crt").display().to_string();
    let pw = password();
    if !server_has_openssl(major) {
        // Measured: the PyPI PostgreSQL 18 build is configured without OpenSSL. Its servers
        // cannot offer TLS, which a profile that requires TLS must report as such.
        let pg = TestCluster::start(major, Some(&pw));
        let home = Home::new();
        let url =
            format!("postgresql://postgres@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={ca}", pg.port());
        home.cli(&["profile", "add", "p", "--url", &url, "--password-stdin"], Some(&pw)).ok();
        home.cli(&["profile", "test", "p"], None).err("tls_unsupported");
        eprintln!("PostgreSQL {major}: this build has no OpenSSL; checked tls_unsupported instead");
        return;
    }
    let pg = tls_cluster(major, &pw, certs.path());
    let home = Home::new();
    let port = pg.port().to_string();
    let add = |name: &str, host: &str, extra: &[&str], pw: Option<&str>| {
        let mut args = vec!["profile", "add", name, "--host", host, "--port", &port, "--user", "postgres"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--database") {
            args.extend_from_slice(&["--database", "postgres"]);
        }
        args.push(if pw.is_some() { "--password-stdin" } else { "--no-password" });
        home.cli(&args, pw).ok();
    };

    add("plain", "127.0.0.1", &["--sslmode", "disable"], Some(&pw));
    home.cli(&["profile", "test", "plain"], None).err("tls_required");

    add("req", "127.0.0.1", &["--sslmode", "require"], Some(&pw));
    assert_eq!(home.cli(&["profile", "test", "req"], None).ok()["tls"], true);

    // libpq's ~/.postgresql/root.crt turns require into verify-ca.
    let user_home = tempfile::tempdir().unwrap();
    std::fs::create_dir(user_home.path().join(".postgresql")).unwrap();
    let root_crt = user_home.path().join(".postgresql/root.crt");
    let home_env = [("HOME", user_home.path().to_str().unwrap())];
    std::fs::copy(&other, &root_crt).unwrap();
    home.cli_env(&["profile", "test", "req"], None, &home_env).err("tls_invalid_cert");
    std::fs::copy(&ca, &root_crt).unwrap();
    assert_eq!(home.cli_env(&["profile", "test", "req"], None, &home_env).ok()["tls"], true);

    // The public roots vouch for any host: sslrootcert=system only with verify-full.
    for mode in ["require", "verify-ca"] {
        let name = format!("system-{mode}");
        add(&name, "localhost", &["--sslmode", mode, "--sslrootcert", "system"], Some(&pw));
        let e = home.cli(&["profile", "test", &name], None).err("tls_config").clone();
        assert!(e["message"].as_str().unwrap().contains("sslrootcert=system"), "{e}");
    }

    add("full", "localhost", &["--sslmode", "verify-full", "--sslrootcert", &ca], Some(&pw));
    assert_eq!(home.cli(&["profile", "test", "full"], None).ok()["tls"], true);

    add("wrongname", "127.0.0.1", &["--sslmode", "verify-full", "--sslrootcert", &ca], Some(&pw));
    home.cli(&["profile", "test", "wrongname"], None).err("tls_invalid_cert");

    add("ca", "127.0.0.1", &["--sslmode", "verify-ca", "--sslrootcert", &ca], Some(&pw));
    assert_eq!(home.cli(&["profile", "test", "ca"], None).ok()["tls"], true);

    add("otherca", "localhost", &["--sslmode", "verify-ca", "--sslrootcert", &other], Some(&pw));
    home.cli(&["profile", "test", "otherca"], None).err("tls_invalid_cert");

    add("noroot", "localhost", &["--sslmode", "verify-full"], Some(&pw));
    home.cli(&["profile", "test", "noroot"], None).err("tls_config");

    let cert = certs.path().join("client.crt").display().to_string();
    let key = certs.path().join("client.key").display().to_string();
    let certs_args = [
        "--database",
        "template1",
        "--sslmode",
        "verify-full",
        "--sslrootcert",
        &ca,
        "--sslcert",
        &cert,
        "--sslkey",
        &key,
    ];
    add("clientcert", "localhost", &certs_args, None);
    let facts = home.cli(&["profile", "test", "clientcert"], None);
    assert_eq!(facts.ok()["current_user"], "postgres", "authenticated by certificate, no password");

    add(
        "nocert",
        "localhost",
        &["--database", "template1", "--sslmode", "verify-full", "--sslrootcert", &ca],
        None,
    );
    home.cli(&["profile", "test", "nocert"], None).err("auth_failed");
});

// A server (or someone posing as it) that asks for the password in cleartext or as md5, over
// a connection whose certificate nobody verified, gets nothing: `insecure_auth`, from Tideline
// and from the libpq tools it runs. SCRAM, and any method behind verify-full, still work.
each_major!(fn a_password_goes_in_cleartext_or_md5_only_to_a_verified_server(major) {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let ca = certs.path().join("ca.crt").display().to_string();
    let pw = password();
    let rules = "host all clear 127.0.0.1/32 password\nhost all legacy 127.0.0.1/32 md5\n";
    let pg = TestCluster::start_prepared(major, Some(&pw), vec![], |c| {
        let hba = std::fs::read_to_string(c.data_dir().join("pg_hba.conf")).unwrap();
        std::fs::write(c.data_dir().join("pg_hba.conf"), format!("{rules}{hba}")).unwrap();
    });
    let roles = format!(
        "CREATE ROLE clear LOGIN PASSWORD '{pw}'; SET password_encryption = 'md5'; CREATE ROLE legacy LOGIN PASSWORD '{pw}'"
    );
    crate::support::psql(&pg, "postgres", &roles);
    let home = Home::new();
    let port = pg.port().to_string();
    for user in ["clear", "legacy", "postgres"] {
        let args = ["profile", "add", user, "--host", "127.0.0.1", "--port", &port, "--user", user];
        let mut args = args.to_vec();
        args.extend_from_slice(&["--database", "postgres", "--sslmode", "prefer", "--password-stdin"]);
        home.cli(&args, Some(&pw)).ok();
    }
    for user in ["clear", "legacy"] {
        let e = home.cli(&["profile", "test", user], None).err("insecure_auth").clone();
        let form = if user == "clear" { "in cleartext" } else { "as an md5 hash" };
        assert!(e["message"].as_str().unwrap().contains(form), "PostgreSQL {major}: {e}");
    }
    home.cli(&["profile", "test", "postgres"], None).ok();
    // The tools Tideline runs refuse too (libpq's require_auth, from 16 on).
    let psql = crate::support::client(major.max(17), "psql").path("psql");
    let draft = pg.get().tcp_draft("clear", "clear", "postgres");
    let draft = tideline_core::profile::ProfileDraft { sslmode: tideline_core::profile::SslMode::Prefer, ..draft };
    let secret = tideline_core::secret::Secret::new(pw.clone());
    let mut cc = tideline_core::libpq_env::client_command(&psql, &draft, Some(&secret)).unwrap();
    let out = cc.command.args(["-X", "-At", "-c", "SELECT 1"]).output().unwrap();
    assert!(!out.status.success(), "PostgreSQL {major}: psql sent a cleartext password");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cleartext"), "{}", String::from_utf8_lossy(&out.stderr));

    // Over TLS: unverified, refused; verified (verify-full), the server may ask as it likes.
    if !server_has_openssl(major) {
        return;
    }
    let tls = tls_cluster_with(major, &pw, certs.path(), "hostssl all postgres 127.0.0.1/32 password\n");
    let port = tls.port().to_string();
    let base = ["--port", &port, "--user", "postgres", "--database", "postgres", "--password-stdin"];
    let mut args = vec!["profile", "add", "tls-require", "--host", "127.0.0.1", "--sslmode", "require"];
    args.extend_from_slice(&base);
    home.cli(&args, Some(&pw)).ok();
    let mut args =
        vec!["profile", "add", "tls-full", "--host", "localhost", "--sslmode", "verify-full", "--sslrootcert", &ca];
    args.extend_from_slice(&base);
    home.cli(&args, Some(&pw)).ok();
    home.cli(&["profile", "test", "tls-require"], None).err("insecure_auth");
    assert_eq!(home.cli(&["profile", "test", "tls-full"], None).ok()["tls"], true, "PostgreSQL {major}");
});
