//! Tideline-managed PostgreSQL clusters: initdb, configure, start on a free local port with a
//! private socket directory, wait until ready, stop, remove. Used by the test harness today,
//! and by sandboxes, the demo database and test restores.
//!
//! Layout under the cluster's root:
//!   cluster.json   what this is (major, binaries, port, owner) so it can be reopened
//!   data/          PGDATA, 0700
//!   socket/        unix_socket_directories, 0700
//!   server.log     the server's log
//!
//! As root, the server runs as another OS user, who is given `data/`, `socket/` and
//! `server.log` and nothing else: the root directory and `cluster.json` stay root's, so the
//! binaries and port root acts on are never read from a file that user can write.

pub mod access_rules;
pub mod no_follow;

pub mod os_user;
pub mod runnable_cli;
pub mod scratch;

pub use os_user::{cluster_owner, running_as_root, OsUser};

use crate::error::{Error, ErrorCode, Result};
use crate::profile::{ProfileDraft, SslMode};
use crate::secret::Secret;
use crate::tools::Installation;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub superuser: String,
    /// With a password, every connection (TCP and socket) uses scram-sha-256; without, trust.
    pub password: Option<Secret>,
    /// Extra postgresql.conf settings, written as given (values quoted by the caller).
    pub settings: Vec<(String, String)>,
    /// A sandbox's access rules instead of initdb's: the OS user Tideline runs as gets in over
    /// the private socket, everyone else needs the password (see [`access_rules`]).
    pub sandbox_rules: bool,
    /// initdb's `--wal-segsize` in MB; None for PostgreSQL's 16.
    pub wal_segment_mb: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedCluster {
    root: PathBuf,
    pub major: u32,
    bin_dir: PathBuf,
    pub port: u16,
    pub superuser: String,
    owner: Option<OsUser>,
    /// The file that holds Tideline's `port = ` line: `tideline.conf` for clusters Tideline
    /// initdb'd; `postgresql.auto.conf` for sandboxes laid down from a backup (read last, so it
    /// wins over the source's own settings).
    #[serde(default = "default_conf_file")]
    conf_file: String,
}

fn default_conf_file() -> String {
    "tideline.conf".into()
}

fn failed(message: String, hint: &str) -> Error {
    Error::new(ErrorCode::ClusterFailed, message, hint)
}

impl ManagedCluster {
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("socket")
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// initdb into `root` (which must not exist or be empty) with the server binaries of `install`.
    pub fn create(root: &Path, install: &Installation, spec: &ClusterSpec) -> Result<Self> {
        for tool in ["initdb", "pg_ctl", "postgres"] {
            if !install.has(tool) {
                return Err(Error::new(
                    ErrorCode::ToolMissing,
                    format!("{tool} is missing from {}", install.dir),
                    "A managed cluster needs the server binaries (initdb, pg_ctl, postgres) of its major.",
                ));
            }
        }
        if root.exists() && std::fs::read_dir(root).map(|mut d| d.next().is_some()).unwrap_or(true) {
            return Err(failed(
                format!("{} exists and is not empty", root.display()),
                "Choose a new directory for the cluster.",
            ));
        }
        let owner = cluster_owner()?;
        let cluster = ManagedCluster {
            root: root.to_path_buf(),
            major: install.major,
            bin_dir: PathBuf::from(&install.dir),
            port: 0,
            superuser: spec.superuser.clone(),
            owner,
            conf_file: default_conf_file(),
        };
        for dir in [cluster.root.clone(), cluster.data_dir(), cluster.socket_dir()] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            set_mode(&dir, 0o700)?;
        }
        cluster.save()?;
        cluster.hand_over()?;
        cluster.initdb(spec)?;
        cluster.write_conf(spec)?;
        if spec.sandbox_rules {
            access_rules::write(&cluster.data_dir(), &spec.superuser, cluster.owner_ids())?;
        }
        Ok(cluster)
    }

    /// Takes over a data directory already laid down at `<root>/data` (a sandbox): gives the
    /// tree to the cluster's owner and appends `settings` to postgresql.auto.conf, which the
    /// server reads after every other file, so they beat whatever the source configured.
    pub fn adopt(root: &Path, install: &Installation, superuser: &str, settings: &[(String, String)]) -> Result<Self> {
        let cluster = ManagedCluster {
            root: root.to_path_buf(),
            major: install.major,
            bin_dir: PathBuf::from(&install.dir),
            port: 0,
            superuser: superuser.into(),
            owner: cluster_owner()?,
            conf_file: "postgresql.auto.conf".into(),
        };
        std::fs::create_dir_all(cluster.socket_dir()).map_err(|e| Error::io("creating the socket directory", e))?;
        for dir in [cluster.root.clone(), cluster.data_dir(), cluster.socket_dir()] {
            set_mode(&dir, 0o700)?;
        }
        // Tideline's own rules, never the source's (a copied `trust` line would open
        // production data to every local user).
        access_rules::write(&cluster.data_dir(), superuser, None)?;
        let auto = "postgresql.auto.conf";
        let mut text = cluster.read_data_file(auto).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# Tideline sandbox settings (after the source's, so they win)\n");
        text.push_str(&format!(
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = {}\nport = 0\n",
            crate::pg::recovery_target::conf_quote(&cluster.socket_dir().to_string_lossy())
        ));
        for (k, v) in settings {
            text.push_str(&format!("{k} = {v}\n"));
        }
        cluster.write_data_file(auto, &text)?;
        cluster.save()?;
        cluster.hand_over()?;
        Ok(cluster)
    }

    pub fn owner(&self) -> Option<&OsUser> {
        self.owner.as_ref()
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    fn owner_ids(&self) -> Option<(u32, u32)> {
        self.owner.as_ref().map(|o| (o.uid, o.gid))
    }

    /// Reopens a cluster created earlier (it may be running or not). As root, only a
    /// `cluster.json` root owns (in a directory root owns) is believed: it names the binaries
    /// root runs and the port it sends passwords to.
    pub fn open(root: &Path) -> Result<Self> {
        let path = root.join("cluster.json");
        trusted_by_us(root, &path)?;
        let text = no_follow::read_file(root, "cluster.json")
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        serde_json::from_str(&text).map_err(|e| {
            failed(format!("{} is damaged: {e}", path.display()), "Remove the directory and create the cluster again.")
        })
    }

    fn save(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(|e| Error::internal(e.to_string()))?;
        no_follow::write_file(&self.root, "cluster.json", json.as_bytes(), 0o644, None)
            .map_err(|e| Error::io("writing cluster.json", e))
    }

    /// Gives the server's OS user what the server writes (data, socket, log) and lets it
    /// traverse the root — after every write of ours into those trees is done.
    fn hand_over(&self) -> Result<()> {
        let Some(owner) = &self.owner else {
            return Ok(());
        };
        os_user::check_reachable(&self.root, owner)?;
        let giving = |e| Error::io(format!("giving {} to {}", self.root.display(), owner.name), e);
        for dir in [self.data_dir(), self.socket_dir()] {
            no_follow::give_tree(&dir, owner.uid, owner.gid).map_err(giving)?;
        }
        if !self.log_path().exists() {
            no_follow::write_file(&self.root, "server.log", b"", 0o600, Some((owner.uid, owner.gid)))
                .map_err(giving)?;
        }
        set_mode(&self.root, 0o711)
    }

    /// A file of the data directory, read without following a link the server's user planted.
    fn read_data_file(&self, name: &str) -> Result<String> {
        no_follow::read_file(&self.data_dir(), name).map_err(|e| Error::io(format!("reading {name}"), e))
    }

    /// Replaces a file of the data directory (owned by the server's user), link-safe.
    fn write_data_file(&self, name: &str, text: &str) -> Result<()> {
        no_follow::write_file(&self.data_dir(), name, text.as_bytes(), 0o600, self.owner_ids())
            .map_err(|e| Error::io(format!("writing {name}"), e))
    }

    /// A command for one of this cluster's server binaries, run as the cluster's owner.
    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(tool));
        cmd.current_dir(&self.root);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        if let Some(owner) = &self.owner {
            use std::os::unix::process::CommandExt;
            cmd.uid(owner.uid).gid(owner.gid).env("HOME", &self.root).env("USER", &owner.name);
        }
        cmd
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<String> {
        let out = cmd.stdin(std::process::Stdio::null()).output().map_err(|e| {
            failed(format!("{what} could not be started: {e}"), "Check the PostgreSQL binaries with `tideline tools`.")
        })?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(failed(format!("{what} failed: {}", text.trim()), "The cluster's server.log may say more."));
        }
        Ok(text)
    }

    fn initdb(&self, spec: &ClusterSpec) -> Result<()> {
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(self.data_dir()).args(["-U", &spec.superuser, "-E", "UTF8", "--locale=C"]);
        // initdb before 14 has no --no-instructions (its "start the server with" text is harmless).
        if self.major >= 14 {
            cmd.arg("--no-instructions");
        }
        if let Some(mb) = spec.wal_segment_mb {
            cmd.arg(format!("--wal-segsize={mb}"));
        }
        // The password reaches initdb in a file only the owner can read, removed right after.
        let pwfile = self.root.join(".pwfile");
        if let Some(pw) = &spec.password {
            let mut opts = std::fs::OpenOptions::new();
            std::os::unix::fs::OpenOptionsExt::mode(opts.write(true).create_new(true), 0o600);
            let mut f = opts.open(&pwfile).map_err(|e| Error::io("writing the initdb password file", e))?;
            std::io::Write::write_all(&mut f, pw.expose().as_bytes())
                .map_err(|e| Error::io("writing the initdb password file", e))?;
            if let Some(owner) = &self.owner {
                std::os::unix::fs::fchown(&f, Some(owner.uid), Some(owner.gid))
                    .map_err(|e| Error::io("chown pwfile", e))?;
            }
            cmd.arg("--auth=scram-sha-256").arg(format!("--pwfile={}", pwfile.display()));
        } else {
            cmd.arg("--auth=trust");
        }
        let result = self.run(cmd, "initdb");
        let _ = std::fs::remove_file(&pwfile);
        result.map(|_| ())
    }

    fn write_conf(&self, spec: &ClusterSpec) -> Result<()> {
        let mut text = self.read_data_file("postgresql.conf")?;
        text.push_str("\n# Tideline-managed settings\ninclude = 'tideline.conf'\n");
        self.write_data_file("postgresql.conf", &text)?;
        let mut ours = format!(
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = {}\nport = {}\n",
            crate::pg::recovery_target::conf_quote(&self.socket_dir().to_string_lossy()),
            self.port
        );
        for (k, v) in &spec.settings {
            ours.push_str(&format!("{k} = {v}\n"));
        }
        self.write_data_file("tideline.conf", &ours)
    }

    fn set_port(&mut self, port: u16) -> Result<()> {
        let text = self.read_data_file(&self.conf_file)?;
        let mut text: String = text
            .lines()
            .map(|l| if l.starts_with("port = ") { format!("port = {port}\n") } else { format!("{l}\n") })
            .collect();
        if !text.lines().any(|l| l.starts_with("port = ")) {
            text.push_str(&format!("port = {port}\n"));
        }
        self.write_data_file(&self.conf_file, &text)?;
        self.port = port;
        self.save()
    }

    pub fn is_running(&self) -> bool {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status").arg("-D").arg(self.data_dir());
        cmd.output().map(|o| o.status.success()).unwrap_or(false)
    }

    /// Starts on a free 127.0.0.1 port and returns once connections are accepted.
    pub fn start(&mut self) -> Result<()> {
        self.start_on(None)
    }

    /// Starts on `port` when given and free (a restarted sandbox keeps its address), else on
    /// a free one, and returns once connections are accepted.
    pub fn start_on(&mut self, port: Option<u16>) -> Result<()> {
        let mut last = None;
        let mut wanted = port.filter(|p| *p != 0 && port_is_free(*p));
        // Another process may take the port between our probe and the server's bind: retry.
        for _ in 0..3 {
            let port = match wanted.take() {
                Some(p) => p,
                None => free_port()?,
            };
            self.set_port(port)?;
            let mut cmd = self.command("pg_ctl");
            cmd.arg("start").arg("-w").args(["-t", "60"]).arg("-D").arg(self.data_dir()).arg("-l").arg(self.log_path());
            match self.run(cmd, "pg_ctl start") {
                Ok(_) => {
                    tracing::info!(root = %self.root.display(), port = self.port, major = self.major, "managed cluster started");
                    return Ok(());
                }
                Err(mut e) => {
                    e.message.push_str(&format!("\nserver.log:\n{}", self.log_tail(20)));
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::internal("start loop did not run")))
    }

    /// Starts the server without waiting (a sandbox in recovery is watched by its caller).
    pub fn launch(&mut self, port: Option<u16>) -> Result<()> {
        let port = match port.filter(|p| port_is_free(*p)) {
            Some(p) => p,
            None => free_port()?,
        };
        self.set_port(port)?;
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start").arg("-W").arg("-D").arg(self.data_dir()).arg("-l").arg(self.log_path());
        self.run(cmd, "pg_ctl start").map(|_| ())
    }

    /// `pg_controldata`'s "Database cluster state" (e.g. `in production`, `in archive recovery`).
    pub fn control_state(&self) -> Option<String> {
        let mut cmd = self.command("pg_controldata");
        cmd.arg(self.data_dir()).env("LC_ALL", "C");
        let out = cmd.output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(|l| l.strip_prefix("Database cluster state:").map(|v| v.trim().to_string()))
    }

    pub fn stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop").arg("-w").args(["-m", "fast", "-t", "60"]).arg("-D").arg(self.data_dir());
        self.run(cmd, "pg_ctl stop").map(|_| ())
    }

    /// Stops the server if it runs and deletes the whole cluster directory.
    pub fn remove(self) -> Result<()> {
        self.stop()?;
        std::fs::remove_dir_all(&self.root).map_err(|e| Error::io(format!("removing {}", self.root.display()), e))
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Connection settings over the private socket directory: how Tideline itself reaches a
    /// sandbox (peer-mapped, so no password is needed or sent).
    pub fn socket_draft(&self, name: &str, user: &str, database: &str) -> ProfileDraft {
        ProfileDraft { host: self.socket_dir().to_string_lossy().into(), ..self.tcp_draft(name, user, database) }
    }

    /// A cluster whose `cluster.json` is not trusted (made by an older version, or changed by
    /// another user), described from what Tideline knows itself — only to stop and remove it.
    pub fn for_removal(root: &Path, install: &Installation) -> Result<Self> {
        Ok(ManagedCluster {
            root: root.to_path_buf(),
            major: install.major,
            bin_dir: PathBuf::from(&install.dir),
            port: 0,
            superuser: String::new(),
            owner: cluster_owner()?,
            conf_file: default_conf_file(),
        })
    }

    /// Connection settings for this cluster over TCP on 127.0.0.1.
    pub fn tcp_draft(&self, name: &str, user: &str, database: &str) -> ProfileDraft {
        ProfileDraft {
            name: name.into(),
            host: "127.0.0.1".into(),
            port: self.port,
            database: database.into(),
            user: user.into(),
            sslmode: SslMode::Disable,
            ..ProfileDraft::default()
        }
    }
}

/// As root, `dir` and `file` must be root's and writable by no one else.
fn trusted_by_us(dir: &Path, file: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !running_as_root() {
        return Ok(());
    }
    for path in [dir, file] {
        let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if meta.uid() != 0 || meta.mode() & 0o022 != 0 || meta.file_type().is_symlink() {
            return Err(Error::new(
                ErrorCode::ClusterFailed,
                format!(
                    "{} can be changed by another user (owner uid {}, mode {:o}); Tideline running as root does not trust it",
                    path.display(),
                    meta.uid(),
                    meta.mode() & 0o7777
                ),
                "Remove this sandbox and make it again: clusters made by this version keep their settings where only root can write.",
            ));
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(format!("chmod {}", path.display()), e))
}

pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("finding a free port", e))?;
    Ok(listener.local_addr().map_err(|e| Error::io("finding a free port", e))?.port())
}
