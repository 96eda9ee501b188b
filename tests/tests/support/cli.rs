//! The real `tideline` binary: a private home per test, its JSON replies, and what it leaves behind (children, logs, keychain entries).

use super::*;

/// A private TIDELINE_HOME for one test, for root (as the suite runs) or a normal OS user.
pub struct Home {
    dir: tempfile::TempDir,
    user: Option<std::sync::Arc<super::os_user::OsUserSession>>,
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::Builder::new().prefix("tideline-home-").tempdir().unwrap(), user: None }
    }

    /// A TIDELINE_HOME in `user`'s home, theirs, where each command runs as them.
    pub fn of_user(user: &std::sync::Arc<super::os_user::OsUserSession>) -> Home {
        let dir = tempfile::Builder::new().prefix("tideline-home-").tempdir_in(user.home()).unwrap();
        std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid)).unwrap();
        Home { dir, user: Some(user.clone()) }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The real `tideline` binary (the user's copy, as them, when this home is a user's),
    /// with this TIDELINE_HOME.
    fn command(&self) -> Command {
        let mut cmd = match &self.user {
            None => Command::new(tideline_bin()),
            Some(user) => user.command(&user.tideline()),
        };
        cmd.env("TIDELINE_HOME", self.path());
        cmd
    }

    /// Runs the real `tideline` binary with `--json`, feeding `stdin`.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> CliResult {
        self.cli_env(args, stdin, &[])
    }

    /// The real `tideline` binary with `--json`, left running: stdout piped (its one JSON
    /// object), stderr dropped.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command().args(args).arg("--json").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap()
    }

    /// Like `cli`, with extra environment variables.
    pub fn cli_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> CliResult {
        let mut cmd = self.command();
        cmd.args(args).arg("--json");
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_cli(cmd, stdin)
    }

    /// Every file under TIDELINE_HOME (catalog, WAL, logs) that contains `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        files_containing(self.path(), needle)
    }
}

pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}

pub fn run_cli(mut cmd: Command, stdin: Option<&str>) -> CliResult {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning tideline");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    CliResult::from(child.wait_with_output().unwrap())
}

pub struct CliResult {
    pub output: Output,
    pub json: serde_json::Value,
}

impl From<Output> for CliResult {
    fn from(output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or("");
        let json = serde_json::from_str(last).unwrap_or_else(|e| {
            panic!(
                "stdout's last line is not JSON ({e}): {stdout:?}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        CliResult { output, json }
    }
}

impl CliResult {
    pub fn ok(&self) -> &serde_json::Value {
        assert!(
            self.output.status.success(),
            "tideline failed: {}\nstderr: {}",
            self.json,
            String::from_utf8_lossy(&self.output.stderr)
        );
        &self.json
    }

    /// Asserts a failure with this code and a hint, and returns the error object.
    pub fn err(&self, code: &str) -> &serde_json::Value {
        assert!(!self.output.status.success(), "expected {code}, got success: {}", self.json);
        assert_eq!(self.json["code"], code, "wrong error: {}", self.json);
        assert!(self.json["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", self.json);
        assert!(self.json["hint"].as_str().is_some_and(|h| h.len() > 10), "no hint: {}", self.json);
        &self.json
    }
}

pub fn tideline_bin() -> PathBuf {
    // target/debug/deps/<test> → target/debug/tideline
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("tideline");
    assert!(bin.exists(), "{} is missing: build with `cargo build --workspace --all-targets` first", bin.display());
    bin
}

/// Reads the keychain directly, as a user's keychain app would.
pub fn keychain_get(profile_id: &str) -> Option<String> {
    let entry = keyring::Entry::new("tideline", &format!("profile/{profile_id}")).unwrap();
    match entry.get_password() {
        Ok(pw) => Some(pw),
        Err(keyring::Error::NoEntry) => None,
        Err(e) => panic!("keychain read failed: {e}"),
    }
}

/// Files left under a database's backup folder (a failed or cancelled run must leave none).
pub fn backup_leftovers(home: &Home, profile: &str, database: &str) -> Vec<PathBuf> {
    let dir = home.path().join("repo/logical").join(profile).join(database);
    std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

/// Profile `p` for the server's database `postgres`, with the test's password.
pub fn add_profile(home: &Home, pg: &TestCluster, pw: &str) {
    home.cli(&["profile", "add", "p", "--url", &pg.url("postgres"), "--password-stdin"], Some(pw)).ok();
}

/// Waits (a minute at most) for a child of `parent` whose argv holds every one of `parts`.
pub fn wait_child(parent: u32, parts: &[&str]) -> u32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(pid) = child_with_args(parent, parts) {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "no child {parts:?} of {parent}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A child of `parent` whose argv holds every one of `parts` (NUL-separated as in /proc).
pub fn child_with_args(parent: u32, parts: &[&str]) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...
        let ppid: u32 = stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        (ppid == parent && parts.iter().all(|p| cmd.contains(p))).then_some(pid)
    })
}

/// A world-traversable directory holding a copy of the `tideline` binary, where a server's OS
/// user can run it (archive_command, restore_command): the build directory is under /root.
pub fn installed_tideline(prefix: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let bin = dir.path().join("tideline");
    std::fs::copy(tideline_bin(), &bin).unwrap();
    set_mode(&bin, 0o755);
    (dir, bin)
}

/// The last line of `home`'s own logs (the CLI's, not the tools') that contains `needle`.
pub fn last_log_line(home: &Home, needle: &str) -> String {
    let mut logs: Vec<_> = std::fs::read_dir(home.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    logs.sort();
    let lines: Vec<String> = logs
        .iter()
        .flat_map(|l| std::fs::read_to_string(l).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    lines.into_iter().rev().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no log line with {needle}"))
}

/// The largest file under `prefix` in a backup's manifest (`backups show` output): the one a
/// flipped byte is most likely to be noticed in only by its checksum.
pub fn largest_file(manifest: &serde_json::Value, prefix: &str) -> String {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with(prefix))
        .max_by_key(|f| f["size_bytes"].as_u64().unwrap())
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string()
}
