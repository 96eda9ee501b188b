//! The native WAL reader against pg_waldump on real WAL from every major: the same commits and
//! aborts (with subtransactions, prepared transactions), the same xids, LSNs and times, the same
//! restore points — over WAL with full-page images, records crossing pages and segments, and
//! segment switches. Also read through zstd, as the repository stores segments. Where no
//! pg_waldump of the major exists (13, 14 and 16 here), the server's own records are the oracle.

use crate::support::{client, majors, psql, TestCluster};
use std::path::{Path, PathBuf};
use tideline_wal::{lsn_text, Reader, SegmentEnd};

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Event {
    lsn: String,
    kind: String,
    xid: String,
    /// Microseconds since the Unix epoch (commits and aborts), or the restore point's name.
    detail: String,
}

fn pg_micros(text: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(text.trim().trim_end_matches(" UTC"), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some(t.and_utc().timestamp_micros())
}

/// pg_waldump's view: Transaction and XLOG records between `start` and `end`.
fn waldump(major: u32, dir: &Path, start: &str, end: &str) -> Vec<Event> {
    let tool = client(major, "pg_waldump").path("pg_waldump");
    let out = std::process::Command::new(tool)
        .args(["--rmgr=Transaction", "--rmgr=XLOG", "--path"])
        .arg(dir)
        .args(["--start", start, "--end", end])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.is_empty(), "pg_waldump: {}", String::from_utf8_lossy(&out.stderr));
    let mut events = Vec::new();
    for line in text.lines() {
        let field = |key: &str| line.split(key).nth(1).map(|v| v.split(',').next().unwrap_or("").trim().to_string());
        let (Some(xid), Some(lsn), Some(desc)) = (field("tx:"), field("lsn:"), line.split("desc: ").nth(1)) else {
            continue;
        };
        let lsn = lsn_text(tideline_core::pg::lsn::lsn(&lsn).unwrap());
        let (kind, rest) = desc.split_once(' ').unwrap_or((desc, ""));
        let event = match kind {
            "COMMIT" | "ABORT" => Event { lsn, kind: kind.into(), xid, detail: stamp(rest) },
            // `COMMIT_PREPARED 750: 2026-…`: the prepared transaction's own xid.
            "COMMIT_PREPARED" | "ABORT_PREPARED" => {
                let (px, when) = rest.split_once(": ").unwrap();
                let kind = kind.split('_').next().unwrap();
                Event { lsn, kind: format!("{kind} PREPARED"), xid: px.into(), detail: stamp(when) }
            }
            "RESTORE_POINT" => Event { lsn, kind: kind.into(), xid: "0".into(), detail: rest.trim().into() },
            _ => continue,
        };
        events.push(event);
    }
    events
}

/// Where no pg_waldump reads this major's WAL: each event the reader found, as the server
/// itself records it — the transaction's outcome (`txid_status`), its commit time
/// (`track_commit_timestamp`) — and the restore points the test made, in order. An event the
/// server disagrees with is left out, so the comparison fails on it.
fn the_servers_view(pg: &TestCluster, got: &[Event]) -> Vec<Event> {
    let mut names = vec!["before-the-switch", "after-the-drop"].into_iter();
    got.iter()
        .filter_map(|e| {
            if e.kind == "RESTORE_POINT" {
                return (names.next() == Some(e.detail.as_str())).then(|| e.clone());
            }
            let status = psql(pg, "postgres", &format!("SELECT txid_status({})", e.xid));
            let committed = e.kind.starts_with("COMMIT");
            if status != if committed { "committed" } else { "aborted" } {
                return None;
            }
            if committed {
                let when = psql(
                    pg,
                    "postgres",
                    &format!(
                        "SELECT to_char(pg_xact_commit_timestamp('{}'::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
                        e.xid
                    ),
                );
                if pg_micros(&when).map(|m| m.to_string()) != Some(e.detail.clone()) {
                    return None;
                }
            }
            Some(e.clone())
        })
        .collect()
}

fn stamp(rest: &str) -> String {
    let when = rest.split(';').next().unwrap();
    pg_micros(when).unwrap_or_else(|| panic!("time in {rest:?}")).to_string()
}

/// The native reader's view of the same segment files, in order.
/// Also counts records, and those crossing a page and a segment boundary.
fn native(files: &[PathBuf], end_lsn: u64) -> (Vec<Event>, [usize; 3]) {
    let mut reader = Reader::new(true);
    let mut events = Vec::new();
    let mut records = [0; 3];
    let mut buf = Vec::new();
    for file in files {
        // A chunk at a time, as `wal inspect` reads.
        let mut source = tideline_wal::segment::open(file).unwrap();
        let end = reader
            .feed_read(&mut source, &mut buf, &mut |r| {
                if r.lsn >= end_lsn {
                    return;
                }
                records[0] += 1;
                let last = r.end_lsn - 1;
                records[1] += usize::from(r.lsn / 8192 != last / 8192);
                records[2] += usize::from(r.lsn / (16 << 20) != last / (16 << 20));
                if let Some(x) = tideline_wal::xact::parse(r) {
                    let kind = match (x.outcome, x.prepared) {
                        (tideline_wal::xact::Outcome::Commit, false) => "COMMIT",
                        (tideline_wal::xact::Outcome::Abort, false) => "ABORT",
                        (tideline_wal::xact::Outcome::Commit, true) => "COMMIT PREPARED",
                        (tideline_wal::xact::Outcome::Abort, true) => "ABORT PREPARED",
                        (tideline_wal::xact::Outcome::Prepare, _) => return,
                    };
                    events.push(Event {
                        lsn: lsn_text(r.lsn),
                        kind: kind.into(),
                        xid: x.xid.to_string(),
                        detail: x.unix_micros().to_string(),
                    });
                } else if let Some(p) = tideline_wal::xlog::restore_point(r) {
                    events.push(Event {
                        lsn: lsn_text(r.lsn),
                        kind: "RESTORE_POINT".into(),
                        xid: "0".into(),
                        detail: p.name,
                    });
                }
            })
            .unwrap();
        if matches!(end, SegmentEnd::EndOfWal { .. }) {
            break;
        }
    }
    (events, records)
}

each_major!(fn the_native_reader_agrees_with_pg_waldump_on_every_major(major) {
    let pg = TestCluster::start_with(
        major,
        None,
        // wal_keep_size: checkpoints must not recycle the segments under test.
        vec![
            ("wal_level".into(), "replica".into()),
            ("max_prepared_transactions".into(), "5".into()),
            ("wal_keep_size".into(), "'1GB'".into()),
            // The server's own record of commit times: the oracle where no pg_waldump of
            // this major exists (the server-only builds of 13, 14 and 16).
            ("track_commit_timestamp".into(), "on".into()),
        ],
    );
    let start = psql(&pg, "postgres", "SELECT pg_current_wal_lsn()");
    // Full-page images after a checkpoint, records bigger than a page, a switch, savepoints
    // (subtransactions), aborts, two-phase commit and rollback, restore points.
    psql(
        &pg,
        "postgres",
        "CHECKPOINT; CREATE TABLE t (id int, v text); ALTER TABLE t ALTER v SET STORAGE EXTERNAL;",
    );
    psql(&pg, "postgres", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 150000) g");
    psql(&pg, "postgres", "INSERT INTO t SELECT g, repeat(md5(g::text), 400) FROM generate_series(1, 300) g");
    psql(&pg, "postgres", "SELECT pg_create_restore_point('before-the-switch'); SELECT pg_switch_wal();");
    let scripted = [
        ("COMMIT", psql(&pg, "postgres", "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT a; INSERT INTO t VALUES (2); SAVEPOINT b; INSERT INTO t VALUES (3); SELECT txid_current(); COMMIT;")),
        ("ABORT", psql(&pg, "postgres", "BEGIN; INSERT INTO t VALUES (4); SELECT txid_current(); ROLLBACK;")),
        ("COMMIT PREPARED", psql(&pg, "postgres", "BEGIN; INSERT INTO t VALUES (5); SELECT txid_current(); PREPARE TRANSACTION 'g1'; COMMIT PREPARED 'g1';")),
        ("ABORT PREPARED", psql(&pg, "postgres", "BEGIN; INSERT INTO t VALUES (6); SELECT txid_current(); PREPARE TRANSACTION 'g2'; ROLLBACK PREPARED 'g2';")),
    ];
    psql(
        &pg,
        "postgres",
        "CHECKPOINT; UPDATE t SET id = id + 1 WHERE id < 5000; DELETE FROM t WHERE id > 19000; DROP TABLE t;",
    );
    psql(&pg, "postgres", "SELECT pg_create_restore_point('after-the-drop')");
    let end = psql(&pg, "postgres", "SELECT pg_current_wal_lsn()");
    psql(&pg, "postgres", "SELECT pg_switch_wal()");

    // A stable copy of the segments from the one holding `start`.
    let copy = tempfile::tempdir().unwrap();
    let wal = pg.get().data_dir().join("pg_wal");
    let first = psql(&pg, "postgres", &format!("SELECT pg_walfile_name('{start}')"));
    let mut names: Vec<String> = std::fs::read_dir(&wal)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.len() == 24 && n.as_str() >= first.as_str())
        .collect();
    names.sort();
    for n in &names {
        std::fs::copy(wal.join(n), copy.path().join(n)).unwrap();
    }
    let files: Vec<PathBuf> = names.iter().map(|n| copy.path().join(n)).collect();
    let end_lsn = tideline_core::pg::lsn::lsn(&end).unwrap();
    let start_lsn = tideline_core::pg::lsn::lsn(&start).unwrap();
    let (mut got, records) = native(&files, end_lsn);
    got.retain(|e| tideline_core::pg::lsn::lsn(&e.lsn).unwrap() >= start_lsn);
    let expected = if crate::support::inventory().server_for(major, "pg_waldump").is_ok() {
        waldump(major, copy.path(), &start, &end)
    } else {
        the_servers_view(&pg, &got)
    };
    assert!(expected.len() >= 8, "PostgreSQL {major}: the oracle saw {expected:?}");
    assert_eq!(got, expected, "PostgreSQL {major}");
    for (kind, xid) in &scripted {
        assert!(
            got.iter().any(|e| e.kind == *kind && e.xid == *xid),
            "PostgreSQL {major}: {kind} of {xid} in {got:?}"
        );
    }
    assert!(got.iter().any(|e| e.kind == "COMMIT PREPARED") && got.iter().any(|e| e.kind == "ABORT"));
    assert!(records[0] > 1000 && records[1] > 100 && records[2] >= 1, "PostgreSQL {major}: {records:?}");

    // The CLI reads the same files to the same transactions.
    let home = crate::support::Home::new();
    let mut args = vec!["wal".to_string(), "inspect".into()];
    args.extend(files.iter().map(|f| f.to_string_lossy().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = home.cli(&args, None).ok().clone();
    let xids: Vec<&str> = report["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["outcome"] != "prepare"
                && tideline_core::pg::lsn::lsn(t["lsn"].as_str().unwrap()) < Some(end_lsn)
        })
        .filter(|t| tideline_core::pg::lsn::lsn(t["lsn"].as_str().unwrap()) >= Some(start_lsn))
        .map(|t| t["xid"].as_str().unwrap())
        .collect();
    let expected_xids: Vec<&str> =
        expected.iter().filter(|e| e.kind != "RESTORE_POINT").map(|e| e.xid.as_str()).collect();
    assert_eq!(xids, expected_xids, "PostgreSQL {major}: wal inspect");
    assert_eq!(report["major"], major);
    // Read in runs of files on two cores, handed commits and restore points only (as
    // above), and in one pass handed every record (as `--events` does): the same records,
    // transactions, restore points and end.
    assert!(files.len() >= 4, "runs need four files: {files:?}");
    use tideline_core::wal::inspect::{inspect, Detail};
    let runs = inspect(&files, true, Detail::Transactions).unwrap();
    let one_pass = inspect(&files, true, Detail::Events).unwrap();
    assert_eq!(
        (runs.segments, runs.records, runs.record_bytes, &runs.end_of_wal),
        (one_pass.segments, one_pass.records, one_pass.record_bytes, &one_pass.end_of_wal),
        "PostgreSQL {major}"
    );
    assert_eq!(runs.transactions, one_pass.transactions, "PostgreSQL {major}");
    assert_eq!(runs.restore_points, one_pass.restore_points, "PostgreSQL {major}");

    // The same through zstd, as the repository keeps them.
    let zipped: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            let z = f.with_extension("zst");
            let bytes = std::fs::read(f).unwrap();
            std::fs::write(&z, zstd::encode_all(&bytes[..], 1).unwrap()).unwrap();
            z
        })
        .collect();
    let (mut again, _) = native(&zipped, end_lsn);
    again.retain(|e| tideline_core::pg::lsn::lsn(&e.lsn).unwrap() >= start_lsn);
    assert_eq!(again, expected, "PostgreSQL {major}: through zstd");
});

each_major!(fn row_changes_are_counted_per_relation_file_and_drops_named_at_commit(major) {
    let pg = TestCluster::start_with(
        major,
        None,
        vec![("wal_level".into(), "replica".into()), ("wal_keep_size".into(), "'1GB'".into())],
    );
    psql(&pg, "postgres", "CREATE TABLE t (id int, v text); CREATE TABLE other (id int)");
    let node: u32 = psql(&pg, "postgres", "SELECT pg_relation_filenode('t')").parse().unwrap();
    let db: u32 = psql(&pg, "postgres", "SELECT oid FROM pg_database WHERE datname = 'postgres'").parse().unwrap();
    let start = psql(&pg, "postgres", "SELECT pg_current_wal_lsn()");
    psql(
        &pg,
        "postgres",
        "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g; INSERT INTO other VALUES (1)",
    );
    psql(&pg, "postgres", "UPDATE t SET v = 'y' WHERE id <= 100; DELETE FROM t WHERE id > 700");
    psql(&pg, "postgres", "COPY t (id) FROM PROGRAM 'seq 1 500'");
    let drop_xid = psql(&pg, "postgres", "BEGIN; DROP TABLE t; SELECT txid_current(); COMMIT;");
    let end = psql(&pg, "postgres", "SELECT pg_current_wal_lsn()");
    psql(&pg, "postgres", "SELECT pg_switch_wal()");
    let wal = pg.get().data_dir().join("pg_wal");
    let first = psql(&pg, "postgres", &format!("SELECT pg_walfile_name('{start}')"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&wal)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().unwrap().len() == 24
                && p.file_name().unwrap().to_string_lossy().as_ref() >= first.as_str()
        })
        .collect();
    files.sort();
    let (start_lsn, end_lsn) = (
        tideline_core::pg::lsn::lsn(&start).unwrap(),
        tideline_core::pg::lsn::lsn(&end).unwrap(),
    );
    let mut counts = std::collections::HashMap::new();
    let mut dropped_by = None;
    let mut reader = Reader::new(true);
    let mut buf = Vec::new();
    for f in &files {
        tideline_wal::segment::read_into(f, &mut buf).unwrap();
        let end = reader
            .feed_segment(&buf, &mut |r| {
                if r.lsn < start_lsn || r.lsn >= end_lsn {
                    return;
                }
                if let Some(c) = tideline_wal::heap::row_change(r) {
                    if c.rel.relfilenode == node && c.rel.database == db {
                        *counts.entry(c.change).or_insert(0u32) += c.rows;
                    }
                }
                if let Some(x) = tideline_wal::xact::parse(r) {
                    if x.dropped.iter().any(|d| d.relfilenode == node) {
                        dropped_by = Some(x.xid.to_string());
                    }
                }
            })
            .unwrap();
        if matches!(end, SegmentEnd::EndOfWal { .. }) {
            break;
        }
    }
    use tideline_wal::heap::Change;
    assert_eq!(counts.get(&Change::Insert), Some(&1500), "PostgreSQL {major}: {counts:?}");
    assert_eq!(counts.get(&Change::Update), Some(&100), "PostgreSQL {major}: {counts:?}");
    assert_eq!(counts.get(&Change::Delete), Some(&300), "PostgreSQL {major}: {counts:?}");
    assert_eq!(dropped_by, Some(drop_xid), "PostgreSQL {major}: the DROP's commit names the file");
});

/// Files that are not whole segments — empty, random bytes, one page of a real one — are a
/// coded error or a short read, never a panic (in `wal inspect`, and so in `wal index`).
#[test]
fn empty_random_and_truncated_segments_are_refused_or_read_short() {
    let major = majors()[0];
    let pg = TestCluster::start(major, None);
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT 1 AS x");
    let segment = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    let real = std::fs::read(pg.get().data_dir().join("pg_wal").join(&segment)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = crate::support::Home::new();
    let noise: Vec<u8> = (0..100u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    for (bytes, whole) in
        [(Vec::new(), false), (noise, false), (real[..8192].to_vec(), true), (real[..100].to_vec(), true)]
    {
        let path = dir.path().join(&segment);
        std::fs::write(&path, &bytes).unwrap();
        let r = home.cli(&["wal", "inspect", path.to_str().unwrap()], None);
        if !whole {
            r.err("wal_invalid");
        } else if !r.output.status.success() {
            // A first page cut short may be refused too, but only with its code.
            r.err("wal_invalid");
        }
    }
}
