//! Backup ids: the moment a backup is named, to the second in UTC, then six random hex digits
//! (two backups in one second never share an id), so ids sort by time.

pub fn new_backup_id<Tz: chrono::TimeZone>(now: &chrono::DateTime<Tz>) -> String {
    let stamp = now.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ");
    format!("{stamp}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6])
}
