//! Finding local servers: Unix sockets in the usual directories, then TCP 5432–5439 on
//! localhost. A port seen both ways is one server; the socket (peer auth, no password) wins.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

pub const SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/run/postgresql", "/tmp", "/private/tmp"];
pub const TCP_PORTS: std::ops::RangeInclusive<u16> = 5432..=5439;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalServer {
    /// A socket directory or `localhost`.
    pub host: String,
    pub port: u16,
}

pub fn discover() -> Vec<LocalServer> {
    let mut found = sockets_in(SOCKET_DIRS.iter().map(Path::new));
    for port in TCP_PORTS {
        if found.iter().any(|s| s.port == port) {
            continue;
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok() {
            found.push(LocalServer { host: "localhost".into(), port });
        }
    }
    found
}

pub fn sockets_in<'a>(dirs: impl Iterator<Item = &'a Path>) -> Vec<LocalServer> {
    let mut found = Vec::new();
    for dir in dirs {
        // /var/run is often a symlink to /run: report each real directory once.
        let Ok(real) = dir.canonicalize() else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(&real) else {
            continue;
        };
        let mut ports: Vec<u16> =
            entries.flatten().filter_map(|e| e.file_name().to_str()?.strip_prefix(".s.PGSQL.")?.parse().ok()).collect();
        ports.sort_unstable();
        for port in ports {
            if !found.iter().any(|s: &LocalServer| s.port == port) {
                found.push(LocalServer { host: dir.display().to_string(), port });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_socket_files_by_port() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".s.PGSQL.5433"), b"").unwrap();
        std::fs::write(dir.path().join(".s.PGSQL.5433.lock"), b"").unwrap();
        std::fs::write(dir.path().join("unrelated"), b"").unwrap();
        let found = sockets_in(std::iter::once(dir.path()));
        assert_eq!(found, vec![LocalServer { host: dir.path().display().to_string(), port: 5433 }]);
    }
}
