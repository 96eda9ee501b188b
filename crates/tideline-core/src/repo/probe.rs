//! `repo test`: the checks users of S3 backup tools keep tripping over, each with what it found
//! and, when it failed, a coded error with a hint. Probe objects live under `.tideline-probe/`
//! and are removed at the end.

use crate::catalog::repositories::{RepositoryPlace, RepositoryRecord};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::store::s3::{Patience, S3Store};
use crate::repo::store::Store;
use bytes::Bytes;
use serde::Serialize;
use ts_rs::TS;

/// S3 refuses requests more than 15 minutes off; a minute off already confuses retention.
const SKEW_FAILS_SECS: i64 = 15 * 60;
const SKEW_WARNS_SECS: i64 = 60;
/// S3's smallest part, but the last.
const PART: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CheckState {
    Passed,
    /// Works, with something to know (the store ignores conditional create; a clock a little off).
    Warning,
    Failed,
    /// Not run: an earlier check failed.
    Skipped,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RepositoryCheck {
    /// `addressing`, `reach`, `write`, `read`, `list`, `clock`, `conditional_create`, `multipart`,
    /// `unfinished_uploads`, `versioning`, `delete`.
    pub check: String,
    pub state: CheckState,
    pub detail: String,
    pub error: Option<Error>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RepositoryTest {
    pub repository: String,
    pub location: String,
    pub checks: Vec<RepositoryCheck>,
    /// Whether every check passed or only warned.
    pub usable: bool,
}

struct Checks(Vec<RepositoryCheck>);

impl Checks {
    fn passed(&mut self, check: &str, detail: impl Into<String>) {
        self.push(check, CheckState::Passed, detail.into(), None);
    }
    fn warned(&mut self, check: &str, detail: impl Into<String>) {
        self.push(check, CheckState::Warning, detail.into(), None);
    }
    fn failed(&mut self, check: &str, error: Error) {
        self.push(check, CheckState::Failed, error.message.clone(), Some(error));
    }
    fn push(&mut self, check: &str, state: CheckState, detail: String, error: Option<Error>) {
        self.0.push(RepositoryCheck { check: check.into(), state, detail, error });
    }
    fn skip_rest(&mut self, names: &[&str]) {
        for name in names {
            if !self.0.iter().any(|c| c.check == *name) {
                self.push(name, CheckState::Skipped, "not run: an earlier check failed".into(), None);
            }
        }
    }
}

const ALL: &[&str] = &[
    "addressing",
    "reach",
    "write",
    "read",
    "list",
    "clock",
    "conditional_create",
    "multipart",
    "unfinished_uploads",
    "versioning",
    "delete",
];

impl Engine {
    /// Runs every check against the repository and records what it found about conditional
    /// create (wal-push relies on it only where the store honours it).
    pub async fn test_repository(&self, name: &str) -> Result<RepositoryTest> {
        let mut record = self.named_repository(name)?;
        let mut checks = Checks(Vec::new());
        let honours = match self.reach_repository(&mut record, &mut checks).await {
            Some(store) => run(self, &record, store.as_ref(), &mut checks).await,
            None => None,
        };
        checks.skip_rest(ALL);
        if honours.is_some() && honours != record.honours_conditional_create {
            record.honours_conditional_create = honours;
            self.catalog().save_repository(&record)?;
        }
        let usable = checks.0.iter().all(|c| matches!(c.state, CheckState::Passed | CheckState::Warning));
        Ok(RepositoryTest { repository: record.name.clone(), location: record.location(), checks: checks.0, usable })
    }
}

impl Engine {
    /// Opens the repository's store for the checks. A bucket that answers only the other
    /// addressing (path-style or virtual-host) is switched to it and recorded: the check warns.
    async fn reach_repository(&self, record: &mut RepositoryRecord, checks: &mut Checks) -> Option<Box<dyn Store>> {
        let RepositoryPlace::S3 { location, access_key_id } = &record.place else {
            checks.passed("addressing", "a directory needs none");
            return self.open_store(record, Patience::Probe).map_err(|e| checks.failed("reach", e)).ok();
        };
        let reached = match self.bucket_secret(record) {
            Ok(secret) => crate::repo::store::addressing::reach(location, access_key_id, &secret).await,
            Err(e) => Err(e),
        };
        let reached = reached.map_err(|e| checks.failed("reach", e)).ok()?;
        let answered = reached.store.location().clone();
        if reached.switched {
            let detail = format!(
                "the store did not answer {}, and answers {}: the repository now uses it",
                location.addressing(),
                answered.addressing()
            );
            let access_key_id = access_key_id.clone();
            record.place = RepositoryPlace::S3 { location: answered, access_key_id };
            if let Err(e) = self.catalog().save_repository(record) {
                checks.failed("addressing", e);
                return None;
            }
            checks.warned("addressing", detail);
        } else {
            checks.passed("addressing", format!("the store answers {}", answered.addressing()));
        }
        Some(Box::new(reached.store))
    }
}

/// The checks in order; the first failure of reach, write or read stops them (nothing after
/// could pass). Returns whether the store honours conditional create, when that was learned.
async fn run(engine: &Engine, record: &RepositoryRecord, store: &dyn Store, checks: &mut Checks) -> Option<bool> {
    let key = format!(".tideline-probe/{}", uuid::Uuid::new_v4());
    let body = Bytes::from(format!("tideline repo test {}", record.created_at));
    if let Err(e) = store.list(".tideline-probe/").await {
        checks.failed("reach", e);
        return None;
    }
    checks.passed("reach", format!("{} answers and the key may list", store.describe()));
    let sent_at = engine.clock.now().with_timezone(&chrono::Utc);
    if let Err(e) = store.put(&key, body.clone()).await {
        checks.failed("write", e);
        return None;
    }
    checks.passed("write", format!("wrote {key}"));
    match store.get(&key).await {
        Ok(Some(back)) if back == body => checks.passed("read", "read the object back, byte for byte"),
        Ok(_) => {
            checks.failed(
                "read",
                Error::new(
                    ErrorCode::RepositoryFailed,
                    format!("{key} read back different or missing"),
                    "The store did not keep what was written: check its health.",
                ),
            );
            return None;
        }
        Err(e) => {
            checks.failed("read", e);
            return None;
        }
    }
    match store.list(".tideline-probe/").await {
        Ok(found) if found.iter().any(|s| s.key == key) => checks.passed("list", "the new object is listed"),
        Ok(_) => {
            checks.warned("list", "the new object is not listed yet: the store lists with a delay; Tideline rescans")
        }
        Err(e) => checks.failed("list", e),
    }
    clock(store, &key, sent_at, checks).await;
    let honours = conditional_create(store, &key, &body, checks).await;
    if let RepositoryPlace::S3 { .. } = record.place {
        multipart(engine, record, &key, checks).await;
    } else {
        checks.passed("multipart", "a directory takes files whole");
        checks.passed("unfinished_uploads", "a directory keeps no parts");
        checks.passed("versioning", "a directory keeps no old versions");
    }
    match store.delete(&key).await.and(store.head(&key).await) {
        Ok(None) => checks.passed("delete", "the probe object is gone"),
        Ok(Some(_)) => checks.failed(
            "delete",
            Error::new(
                ErrorCode::RepositoryFailed,
                format!("{key} is still there after delete"),
                "Retention could not free space: check the key's delete permission and the bucket's Object Lock.",
            ),
        ),
        Err(e) => checks.failed("delete", e),
    }
    honours
}

async fn clock(store: &dyn Store, key: &str, sent_at: chrono::DateTime<chrono::Utc>, checks: &mut Checks) {
    let Ok(Some(meta)) = store.head(key).await else {
        checks.warned("clock", "the store gave no time for the object; its clock was not compared");
        return;
    };
    let skew = (meta.modified - sent_at).num_seconds();
    let detail = format!("the store's clock is {skew:+} s from this computer's");
    match skew.abs() {
        s if s >= SKEW_FAILS_SECS => checks.failed("clock", Error::new(ErrorCode::RepositoryClockSkew, detail, "Turn on time synchronisation on this computer (`timedatectl set-ntp true`); S3 refuses requests 15 minutes off.")),
        s if s >= SKEW_WARNS_SECS => checks.warned("clock", format!("{detail}: turn on time synchronisation")),
        _ => checks.passed("clock", detail),
    }
}

/// Writes other bytes under the probe's name with If-None-Match: a store that honours it
/// refuses; one that ignores it (Garage 2.5) overwrites, and wal-push then reads back instead.
async fn conditional_create(store: &dyn Store, key: &str, body: &Bytes, checks: &mut Checks) -> Option<bool> {
    let other = Bytes::from_static(b"a second writer");
    let refused = match store.put_if_absent(key, other).await {
        Ok(created) => !created,
        Err(e) => {
            checks.failed("conditional_create", e);
            return None;
        }
    };
    let kept = matches!(store.get(key).await, Ok(Some(b)) if b == *body);
    if refused && kept {
        checks.passed(
            "conditional_create",
            "the store refuses to overwrite with If-None-Match: WAL is never overwritten in one step",
        );
        Some(true)
    } else {
        checks.warned("conditional_create", "the store ignores If-None-Match and overwrote the object: wal-push reads what is there before and after writing, so a different file under the same name is still refused");
        Some(false)
    }
}

async fn multipart(engine: &Engine, record: &RepositoryRecord, key: &str, checks: &mut Checks) {
    let RepositoryPlace::S3 { location, access_key_id } = &record.place else { return };
    let parts_key = format!("{key}-parts");
    let body = Bytes::from(vec![7u8; PART * 2 + 1]);
    let store =
        match engine.bucket_secret(record).and_then(|s| S3Store::open(location, access_key_id, &s, Patience::Probe)) {
            Ok(store) => store,
            Err(e) => return checks.failed("multipart", e),
        };
    let sent = async {
        store.put_in_parts(&parts_key, body.clone(), PART).await?;
        store.head(&parts_key).await
    }
    .await;
    match sent {
        Ok(Some(meta)) if meta.size == body.len() as u64 => {
            checks.passed("multipart", format!("uploaded {} bytes in 3 parts", body.len()))
        }
        Ok(_) => checks.failed(
            "multipart",
            Error::new(
                ErrorCode::RepositoryFailed,
                "a multipart upload completed but the object is missing or short",
                "Large backup files could not be stored: check the store's multipart support.",
            ),
        ),
        Err(e) => checks.failed("multipart", e),
    }
    let _ = store.delete(&parts_key).await;
    unfinished(&store, checks).await;
    versioning(&store, checks).await;
}

/// A versioned bucket keeps what retention deletes (as old versions); Object Lock refuses the
/// deletes. Neither stops backups; both change what retention frees.
async fn versioning(store: &S3Store, checks: &mut Checks) {
    match store.versioning().await {
        (Some(v), Some(lock)) if v != "Enabled" && lock != "Enabled" => {
            checks.passed("versioning", format!("versioning {}, Object Lock {lock}: deletes free space", v.to_lowercase()))
        }
        (Some(v), Some(lock)) => checks.warned(
            "versioning",
            format!("versioning {v}, Object Lock {lock}: what retention deletes stays as old versions (or is refused while locked); add a lifecycle rule that expires noncurrent versions"),
        ),
        _ => checks.warned("versioning", "the store would not say whether versioning or Object Lock is on"),
    }
}

/// Uploads a stopped run left: their parts stay stored (and billed) until aborted.
async fn unfinished(store: &S3Store, checks: &mut Checks) {
    match store.unfinished_uploads().await {
        Ok(found) if found.is_empty() => checks.passed("unfinished_uploads", "no unfinished multipart upload holds parts"),
        Ok(found) => checks.warned(
            "unfinished_uploads",
            format!(
                "{} unfinished multipart upload(s) hold parts, the oldest begun {}: a run stopped mid-upload left them; Remove unfinished uploads (repo clean) aborts those over an hour old",
                found.len(),
                found[0].initiated
            ),
        ),
        Err(e) => checks.warned("unfinished_uploads", format!("could not list unfinished uploads: {}", e.message)),
    }
}
