//! The headless runner as the platform's user-level service: every minute, `tideline schedule
//! run-due` (which starts what is due and exits). A systemd user service and timer on Linux
//! (installed by `schedule install`); a launchd agent on macOS and a Task Scheduler task on
//! Windows, printed for the user to load (`launchctl load`, `schtasks /Create /XML`).

use std::path::Path;

/// A file of the definition: its name and text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct ServiceFile {
    pub name: String,
    pub content: String,
}

/// Environment the runner needs beside the binary (the data directory, when not the default).
fn env_lines(env: &[(String, String)], line: impl Fn(&str, &str) -> String) -> String {
    env.iter().map(|(k, v)| line(k, v)).collect()
}

/// `tideline-schedule.service` (one run-due) and `tideline-schedule.timer` (each minute,
/// catching up after sleep: `Persistent=true`).
pub fn systemd(cli: &Path, env: &[(String, String)]) -> Vec<ServiceFile> {
    let service = format!(
        "[Unit]\nDescription=Tideline: start the PostgreSQL backups that are due\n\n\
         [Service]\nType=oneshot\n{}ExecStart={} schedule run-due\n",
        env_lines(env, |k, v| format!("Environment={}\n", unit_quoted(&format!("{k}={v}"), false))),
        unit_quoted(&cli.display().to_string(), true),
    );
    let timer = "[Unit]\nDescription=Tideline: look for due backups every minute\n\n\
         [Timer]\nOnCalendar=*-*-* *:*:00\nAccuracySec=15s\nPersistent=true\nUnit=tideline-schedule.service\n\n\
         [Install]\nWantedBy=timers.target\n"
        .to_string();
    vec![
        ServiceFile { name: "tideline-schedule.service".into(), content: service },
        ServiceFile { name: "tideline-schedule.timer".into(), content: timer },
    ]
}

/// A systemd unit value in double quotes: backslash, quote and line breaks C-escaped (a raw
/// line break would start a directive of its own), `%` doubled (specifiers), and in a command
/// line `$` doubled (variable expansion).
fn unit_quoted(v: &str, command: bool) -> String {
    let mut out = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\r', "\\r");
    out = out.replace('%', "%%");
    if command {
        out = out.replace('$', "$$");
    }
    format!("\"{out}\"")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `~/Library/LaunchAgents/dev.tideline.schedule.plist`: run-due every 60 s.
pub fn launchd(cli: &Path, env: &[(String, String)]) -> ServiceFile {
    let env_dict = if env.is_empty() {
        String::new()
    } else {
        format!(
            "  <key>EnvironmentVariables</key>\n  <dict>\n{}  </dict>\n",
            env_lines(env, |k, v| format!("    <key>{}</key><string>{}</string>\n", xml_escape(k), xml_escape(v)))
        )
    };
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n  <key>Label</key><string>dev.tideline.schedule</string>\n\
         \x20 <key>ProgramArguments</key>\n  <array>\n    <string>{}</string>\n    <string>schedule</string>\n    <string>run-due</string>\n  </array>\n\
         {env_dict}  <key>StartInterval</key><integer>60</integer>\n  <key>RunAtLoad</key><true/>\n</dict>\n</plist>\n",
        xml_escape(&cli.display().to_string())
    );
    ServiceFile { name: "dev.tideline.schedule.plist".into(), content }
}

/// A Task Scheduler task (`schtasks /Create /TN Tideline /XML tideline-schedule.xml`): at logon,
/// then every minute.
pub fn task_scheduler(cli: &Path) -> ServiceFile {
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n\
         <Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n\
         \x20 <RegistrationInfo><Description>Tideline: start the PostgreSQL backups that are due</Description></RegistrationInfo>\n\
         \x20 <Triggers>\n    <LogonTrigger>\n      <Repetition><Interval>PT1M</Interval><StopAtDurationEnd>false</StopAtDurationEnd></Repetition>\n    </LogonTrigger>\n  </Triggers>\n\
         \x20 <Settings>\n    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n    <StartWhenAvailable>true</StartWhenAvailable>\n    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n  </Settings>\n\
         \x20 <Actions>\n    <Exec><Command>{}</Command><Arguments>schedule run-due</Arguments></Exec>\n  </Actions>\n</Task>\n",
        xml_escape(&cli.display().to_string())
    );
    ServiceFile { name: "tideline-schedule.xml".into(), content }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_run_run_due_every_minute() {
        let cli = Path::new("/opt/tideline/bin/tideline");
        let env = vec![("TIDELINE_HOME".to_string(), "/srv/backups & more".to_string())];
        let units = systemd(cli, &env);
        assert!(units[0].content.contains("ExecStart=\"/opt/tideline/bin/tideline\" schedule run-due\n"));
        assert!(units[0].content.contains("Environment=\"TIDELINE_HOME=/srv/backups & more\"\n"));
        assert!(units[1].content.contains("OnCalendar=*-*-* *:*:00\n") && units[1].content.contains("Persistent=true"));
        // Specifiers, variables and line breaks in a path stay part of it.
        let odd =
            systemd(Path::new("/opt/100%/$HOME/x"), &[("TIDELINE_HOME".into(), "/a%h\nExecStartPre=/bin/evil".into())]);
        assert!(odd[0].content.contains("ExecStart=\"/opt/100%%/$$HOME/x\" schedule run-due\n"), "{}", odd[0].content);
        assert!(
            odd[0].content.contains("Environment=\"TIDELINE_HOME=/a%%h\\nExecStartPre=/bin/evil\"\n"),
            "{}",
            odd[0].content
        );
        assert!(!odd[0].content.lines().any(|l| l.starts_with("ExecStartPre")));
        let plist = launchd(cli, &env).content;
        assert!(plist.contains(
            "<string>/opt/tideline/bin/tideline</string>\n    <string>schedule</string>\n    <string>run-due</string>"
        ));
        assert!(plist.contains("<key>TIDELINE_HOME</key><string>/srv/backups &amp; more</string>"));
        assert!(plist.contains("<key>StartInterval</key><integer>60</integer>"));
        let task = task_scheduler(cli).content;
        assert!(task.contains("<Interval>PT1M</Interval>") && task.contains("<Arguments>schedule run-due</Arguments>"));
        assert!(task.contains("<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"));
    }
}

/// What `schedule install` did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct InstallReport {
    /// linux, macos or windows.
    pub platform: String,
    /// Where the files were written (Linux), or should go.
    pub directory: String,
    pub files: Vec<ServiceFile>,
    /// Written to `directory`.
    pub written: bool,
    /// `systemctl --user enable --now` succeeded.
    pub enabled: bool,
    /// What to do next, or why enabling failed.
    pub note: String,
}

/// Writes the systemd user units into `dir` (temp name, then rename) and enables the timer
/// through `runner`; `print` only returns them.
pub fn install_systemd(
    cli: &Path,
    env: &[(String, String)],
    dir: &Path,
    print: bool,
    runner: &dyn crate::process::Runner,
) -> crate::error::Result<InstallReport> {
    let files = systemd(cli, env);
    let mut report = InstallReport {
        platform: "linux".into(),
        directory: dir.display().to_string(),
        files: files.clone(),
        written: false,
        enabled: false,
        note: String::new(),
    };
    if print {
        report.note =
            format!("Put these in {} and run: systemctl --user enable --now tideline-schedule.timer", dir.display());
        return Ok(report);
    }
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(format!("creating {}", dir.display()), e))?;
    for f in &files {
        let target = dir.join(&f.name);
        let tmp = dir.join(format!(".{}.tmp", f.name));
        std::fs::write(&tmp, &f.content)
            .map_err(|e| crate::error::Error::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &target)
            .map_err(|e| crate::error::Error::io(format!("writing {}", target.display()), e))?;
    }
    report.written = true;
    let systemctl = |args: &[&str]| {
        runner
            .output(std::process::Command::new("systemctl").arg("--user").args(args))
            .map(|o| (o.status.success(), String::from_utf8_lossy(&o.stderr).trim().to_string()))
    };
    match systemctl(&["daemon-reload"]).and_then(|_| systemctl(&["enable", "--now", "tideline-schedule.timer"])) {
        Ok((true, _)) => {
            report.enabled = true;
            report.note = "Enabled: `systemctl --user status tideline-schedule.timer` shows it.".into();
        }
        Ok((false, why)) => {
            report.note = format!(
                "Written, but systemctl --user could not enable the timer ({why}). In a desktop session run: systemctl --user enable --now tideline-schedule.timer"
            )
        }
        Err(e) => report.note = format!("Written, but systemctl could not run ({e}); enable the timer by hand."),
    }
    Ok(report)
}
