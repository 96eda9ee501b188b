//! A normal OS user, as Tideline runs for most people: its own session bus and unlocked
//! gnome-keyring, its own copy of the `tideline` binary (the build's sits under /root, which
//! only root may enter), and no way into what root or `postgres` keep to themselves. The test
//! suite runs as root; this is how it runs Tideline as somebody else.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

pub struct OsUserSession {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Root's, 0755: the binary's folder and the user's home inside it.
    base: tempfile::TempDir,
    bus: String,
    keyring_control: String,
}

impl OsUserSession {
    /// Creates OS user `name` (once per machine; it stays, with no home and no login shell),
    /// and starts its session bus and keyring. Each test takes a user of its own: dropping
    /// the session kills every process of that user.
    pub fn start(name: &str) -> OsUserSession {
        assert!(tideline_core::cluster::running_as_root(), "running Tideline as another OS user needs root");
        let (uid, gid) = ensure_user(name);
        let base = tempfile::Builder::new().prefix("tideline-user-").tempdir().unwrap();
        set_mode(base.path(), 0o755);
        let bin = base.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        set_mode(&bin, 0o755);
        std::fs::copy(super::tideline_bin(), bin.join("tideline")).unwrap();
        let home = base.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
        set_mode(&home, 0o700);
        let mut session = OsUserSession {
            name: name.to_string(),
            uid,
            gid,
            base,
            bus: String::new(),
            keyring_control: String::new(),
        };
        session.bus = session.start_bus();
        session.keyring_control = session.unlock_keyring();
        session
    }

    /// The user's home (0700, theirs).
    pub fn home(&self) -> PathBuf {
        self.base.path().join("home")
    }

    /// The user's copy of the `tideline` binary.
    pub fn tideline(&self) -> PathBuf {
        self.base.path().join("bin/tideline")
    }

    /// `program` as this user, in their session: a clean environment but for PATH, the
    /// PostgreSQL builds' paths and the suite's TIDELINE_ settings.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.uid(self.uid).gid(self.gid).env_clear().current_dir(self.home());
        for (key, value) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            let passed = ["PATH", "LANG", "RUST_LOG"].contains(&key_text.as_ref())
                || (key_text.starts_with("TIDELINE_") && key_text != "TIDELINE_HOME");
            if passed {
                cmd.env(&key, value);
            }
        }
        cmd.env("HOME", self.home())
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("GNOME_KEYRING_CONTROL", &self.keyring_control);
        cmd
    }

    fn start_bus(&self) -> String {
        let mut cmd = self.command(Path::new("dbus-daemon"));
        cmd.args(["--session", "--fork", "--print-address=1"]).stderr(Stdio::null());
        let out = cmd.output().expect("dbus-daemon");
        assert!(out.status.success(), "dbus-daemon as {}: {out:?}", self.name);
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_string()
    }

    /// gnome-keyring-daemon, unlocked with a throwaway password, as `with-keyring.sh` does
    /// for root's session.
    fn unlock_keyring(&self) -> String {
        let mut cmd = self.command(Path::new("gnome-keyring-daemon"));
        cmd.args(["--unlock", "--components=secrets"]).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.stderr(Stdio::null()).spawn().expect("gnome-keyring-daemon");
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"tideline-test").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let control = text.lines().find_map(|l| l.strip_prefix("GNOME_KEYRING_CONTROL="));
        control.unwrap_or_else(|| panic!("gnome-keyring-daemon as {} said {text:?}", self.name)).to_string()
    }
}

impl Drop for OsUserSession {
    fn drop(&mut self) {
        // Its bus, its keyring, and whatever a failed test left running as it (a sandbox's server).
        let _ = Command::new("pkill").args(["-KILL", "-u", &self.name]).status();
    }
}

/// The user's uid and gid, creating the user if there is none (useradd takes a lock that
/// two tests at once would fight over).
fn ensure_user(name: &str) -> (u32, u32) {
    static CREATING: Mutex<()> = Mutex::new(());
    let _guard = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    if tideline_core::cluster::os_user::OsUser::lookup(name).is_none() {
        let status = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
            .status()
            .expect("useradd");
        assert!(status.success(), "useradd {name}");
    }
    let user = tideline_core::cluster::os_user::OsUser::lookup(name).expect("the user just made");
    (user.uid, user.gid)
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}
