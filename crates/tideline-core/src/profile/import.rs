//! Importing profiles from ~/.pgpass, pg_service.conf and local discovery. Passwords found in
//! ~/.pgpass go straight to the keychain.

use super::{discover, pgpass, service_file, ProfileDraft};
use crate::engine::Engine;
use crate::error::Result;
use crate::profile::Profile;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ImportRequest {
    pub pgpass: bool,
    pub service_file: bool,
    pub discover: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ImportSkip {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ImportReport {
    pub added: Vec<Profile>,
    pub skipped: Vec<ImportSkip>,
}

impl Engine {
    pub fn import_profiles(&self, request: ImportRequest) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        if request.pgpass {
            if let Some(path) = pgpass::default_path() {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    for entry in pgpass::parse(&text) {
                        let name = format!("{}@{}:{}", entry.user, entry.host, entry.port);
                        if [&entry.host, &entry.port, &entry.user].iter().any(|f| f.as_str() == "*") {
                            report.skipped.push(ImportSkip {
                                name,
                                reason: "host, port and user must be concrete to make a profile (wildcards stay in ~/.pgpass)".into(),
                            });
                            continue;
                        }
                        let Ok(port) = entry.port.parse() else {
                            report
                                .skipped
                                .push(ImportSkip { name, reason: format!("port '{}' is not a number", entry.port) });
                            continue;
                        };
                        let database = if entry.database == "*" { "postgres".into() } else { entry.database.clone() };
                        let draft = ProfileDraft {
                            name: if entry.database == "*" { name.clone() } else { format!("{name}-{database}") },
                            host: entry.host.clone(),
                            port,
                            database,
                            user: entry.user.clone(),
                            ..ProfileDraft::default()
                        };
                        self.import_one(&mut report, draft, Some(&entry.password));
                    }
                }
            }
        }
        if request.service_file {
            for path in service_file::candidate_paths() {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                for (service, pairs) in service_file::parse(&text) {
                    match super::conninfo::from_pairs(pairs) {
                        Ok(parsed) => {
                            let draft = ProfileDraft { name: service, ..parsed.draft };
                            self.import_one(&mut report, draft, parsed.password.as_ref());
                        }
                        Err(e) => report.skipped.push(ImportSkip { name: service, reason: e.message }),
                    }
                }
            }
        }
        if request.discover {
            for server in discover::discover() {
                let local = server.host.starts_with('/');
                let draft = ProfileDraft {
                    name: format!("local-{}{}", server.port, if local { "" } else { "-tcp" }),
                    host: server.host.clone(),
                    port: server.port,
                    sslmode: if local { super::SslMode::Disable } else { super::SslMode::Prefer },
                    ..ProfileDraft::default()
                };
                self.import_one(&mut report, draft, None);
            }
        }
        Ok(report)
    }

    fn import_one(&self, report: &mut ImportReport, draft: ProfileDraft, password: Option<&crate::secret::Secret>) {
        let exists = self.profiles().map(|all| {
            all.iter().any(|p| p.name == draft.name || ProfileDraft { name: draft.name.clone(), ..p.draft() } == draft)
        });
        if exists.unwrap_or(false) {
            report.skipped.push(ImportSkip {
                name: draft.name,
                reason: "a profile with this name or these settings exists".into(),
            });
            return;
        }
        match self.add_profile(&draft, password) {
            Ok(p) => report.added.push(p),
            Err(e) => {
                report.skipped.push(ImportSkip { name: draft.name, reason: format!("{} ({})", e.message, e.hint) })
            }
        }
    }
}
