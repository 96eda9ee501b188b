//! Destructive events on every major. A DELETE (inside a savepoint), a TRUNCATE, a DELETE
//! from the truncated table's new file and a DROP TABLE are each found in the WAL index, named
//! after their tables (the new file by what the TRUNCATE taught, before any new snapshot) and
//! ranked (one committed a segment after its rows went); restoring just before each (`pitr --before-event`) brings its rows back. A VACUUM
//! FULL, a work table made and dropped in one transaction, and a small DELETE are no events
//! (the last one is, below a lowered threshold).

use crate::support::{password, psql, Home};

struct Sandboxes<'a>(&'a Home);

impl Drop for Sandboxes<'_> {
    fn drop(&mut self) {
        if let Some(all) = self.0.cli(&["sandbox", "list"], None).json["sandboxes"].as_array().cloned() {
            for s in all {
                self.0.cli(&["sandbox", "remove", s["id"].as_str().unwrap_or_default()], None);
            }
        }
    }
}

/// A server archiving into Tideline's repository, profile `p` on it, its WAL switched once.
fn archiving_profile(major: u32) -> (String, crate::support::ArchivingSource, Home) {
    let pw = password();
    let source = crate::support::ArchivingSource::start(major, Some(&pw), vec![]);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &source.pg.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    (pw, source, home)
}

fn find<'a>(events: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    events.as_array().unwrap().iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("no event {id} in {events:#}"))
}

each_major!(fn deletes_truncates_and_drops_are_found_named_and_undone(major) {
    let (pw, source, home) = archiving_profile(major);
    let pg = &source.pg;
    let _cleanup = Sandboxes(&home);
    psql(
        pg,
        "postgres",
        "CREATE TABLE orders (id serial PRIMARY KEY, note text);
         INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, 3000) g;
         CREATE TABLE ledger (id int PRIMARY KEY, memo text);
         INSERT INTO ledger SELECT g, 'l' || g FROM generate_series(1, 2000) g;
         CREATE TABLE audit (id int, body text);
         INSERT INTO audit SELECT g, repeat('a', 100) FROM generate_series(1, 500) g;
         CREATE TABLE payments (id int);
         INSERT INTO payments SELECT generate_series(1, 1200);
         CREATE TABLE big (x int);
         INSERT INTO big SELECT generate_series(1, 20000);",
    );
    // The base backup names the relation files as they are now.
    home.cli(&["basebackup", "p"], None).ok();
    let tli = 1;
    let delete = psql(
        pg,
        "postgres",
        "BEGIN; SAVEPOINT s; DELETE FROM orders WHERE id > 500; RELEASE s; SELECT txid_current(); COMMIT;",
    );
    psql(pg, "postgres", "DELETE FROM big WHERE x <= 50");
    psql(pg, "postgres", "VACUUM FULL big");
    psql(
        pg,
        "postgres",
        "BEGIN; CREATE TABLE work AS SELECT generate_series(1, 5000) AS g; DROP TABLE work; COMMIT;",
    );
    let truncate = psql(pg, "postgres", "BEGIN; TRUNCATE ledger; SELECT txid_current(); COMMIT;");
    psql(pg, "postgres", "INSERT INTO ledger SELECT g, 'n' || g FROM generate_series(1, 1500) g");
    let refill = psql(pg, "postgres", "BEGIN; DELETE FROM ledger; SELECT txid_current(); COMMIT;");
    let drop = psql(pg, "postgres", "BEGIN; DROP TABLE audit; SELECT txid_current(); COMMIT;");
    // Rows deleted in one segment, committed in the next: the first summary leaves the
    // transaction open, the second recognises its commit.
    let spanning = psql(
        pg,
        "postgres",
        "BEGIN; DELETE FROM payments; SELECT pg_switch_wal() IS NOT NULL; SELECT txid_current(); COMMIT;",
    );
    let spanning = spanning.lines().last().unwrap().to_string();
    psql(pg, "postgres", "CREATE TABLE traffic AS SELECT 1 AS x");
    source.switch_and_wait();

    // The timeline reads the index alone: no snapshot since the base backup.
    let t = home.cli(&["timeline", "p"], None).ok().clone();
    let events = &t["events"];
    let e = find(events, &format!("{tli}:{delete}"));
    assert_eq!(e["kind"], "delete", "PostgreSQL {major}: {e}");
    assert_eq!(e["description"], "DELETE of 2,500 of 3,000 rows from public.orders (83%)", "PostgreSQL {major}: {e}");
    let e = find(events, &format!("{tli}:{truncate}"));
    assert_eq!(e["description"], "TRUNCATE public.ledger (2,000 rows)", "PostgreSQL {major}: {e}");
    let e = find(events, &format!("{tli}:{refill}"));
    // Counted from the empty file the TRUNCATE made, through the 1,500 rows put back.
    assert_eq!(e["description"], "DELETE of 1,500 of 1,500 rows from public.ledger (100%)", "PostgreSQL {major}: {e}");
    let e = find(events, &format!("{tli}:{drop}"));
    assert_eq!(e["description"], "DROP TABLE public.audit (500 rows)", "PostgreSQL {major}: {e}");
    let e = find(events, &format!("{tli}:{spanning}"));
    assert_eq!(e["description"], "DELETE of 1,200 of 1,200 rows from public.payments (100%)", "{e}");
    assert_eq!(events.as_array().unwrap().len(), 5, "PostgreSQL {major}: only these five: {events:#}");

    // `events` (a new snapshot first) lists them in time order, ranked: the DROP and the
    // TRUNCATE lead; each destroyed a table or most of one.
    let listed = home.cli(&["events", "p"], None).ok().clone();
    let all = listed["events"].as_array().unwrap();
    let times: Vec<&str> = all.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order: {listed:#}");
    let mut by_rank = all.clone();
    by_rank.sort_by_key(|e| e["rank"].as_u64().unwrap());
    let ranked: Vec<&str> = by_rank.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(ranked, ["drop", "truncate", "delete", "delete", "delete"], "{listed:#}");
    assert_eq!(by_rank[0]["rank"], 1);
    assert!(all.iter().all(|e| e["severity"] == "high" && e["by_tideline"].is_null()), "{listed:#}");
    assert!(listed["names_as_of"].as_str().is_some());
    let lowered = home.cli(&["events", "p", "--min-rows", "50", "--min-percent", "100"], None).ok().clone();
    assert!(
        lowered["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["description"] == "DELETE of 50 of 20,000 rows from public.big (under 1%)"),
        "{lowered:#}"
    );
    let last = listed["events"].as_array().unwrap().iter().map(|e| e["time"].as_str().unwrap()).max().unwrap();
    let none = home
        .cli(&["events", "p", "--from", "2001-01-01T00:00:00Z", "--to", "2001-01-02T00:00:00Z"], None)
        .ok()
        .clone();
    assert_eq!(none["events"].as_array().unwrap().len(), 0, "{none:#}");
    let until = home.cli(&["events", "p", "--to", last], None).ok().clone();
    assert_eq!(until["events"].as_array().unwrap().len(), 5, "{until:#}");
    let first = listed["events"].as_array().unwrap().iter().map(|e| e["time"].as_str().unwrap()).min().unwrap();
    // Bounds are inclusive.
    let up_to_first = home.cli(&["events", "p", "--to", first], None).ok().clone();
    assert_eq!(up_to_first["events"].as_array().unwrap().len(), 1, "{up_to_first:#}");
    assert_eq!(up_to_first["events"][0]["id"], format!("{tli}:{delete}"));

    // The reader itself (`wal inspect --events`) over the archived segments: the DELETE's
    // rows (counted under its savepoint's subtransaction), TRUNCATE's new empty file, and
    // the files VACUUM FULL filled.
    let mut segments: Vec<String> = std::fs::read_dir(&source.wal)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name().to_string_lossy().len() == 28 && e.file_name().to_string_lossy().ends_with(".zst")
        })
        .map(|e| e.path().to_string_lossy().to_string())
        .collect();
    segments.sort();
    let mut args = vec!["wal", "inspect", "--events"];
    args.extend(segments.iter().map(String::as_str));
    let r = home.cli(&args, None).ok().clone();
    assert!(r["changes"].as_array().unwrap().iter().any(|c| c["deleted"] == 2500), "{:#}", r["changes"]);
    let created = r["created"].as_array().unwrap();
    assert!(created.iter().any(|c| c["xid"] == truncate.as_str() && c["written"] == false), "{created:#?}");
    assert!(created.iter().any(|c| c["written"] == true), "VACUUM FULL filled its new file: {created:#?}");

    // Just before each, its rows are back.
    let mut copied = 0;
    for (id, check, expect) in [
        (delete.as_str(), "SELECT count(*) FROM orders", "3000"),
        (truncate.as_str(), "SELECT count(*) FROM ledger", "2000"),
        (drop.as_str(), "SELECT count(*) FROM audit", "500"),
    ] {
        let id = format!("{tli}:{id}");
        let s = home.cli(&["pitr", "p", "--before-event", &id], None).ok().clone();
        let port = s["port"].as_u64().unwrap() as u16;
        assert_eq!(crate::support::query_at(major, port, &pw, check), expect, "PostgreSQL {major}: before {id}: {s}");
        assert_eq!(s["target"]["point"]["kind"], "lsn", "{s}");
        // The sandbox's own WAL begins timeline 2, and says so.
        let pg_wal = std::path::Path::new(s["root"].as_str().unwrap()).join("data/pg_wal");
        let newest = std::fs::read_dir(&pg_wal)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.len() == 24 && n.starts_with("00000002"))
            .min()
            .expect("a timeline 2 segment");
        let r = home.cli(&["wal", "inspect", pg_wal.join(&newest).to_str().unwrap()], None).ok().clone();
        assert_eq!(r["timeline_switches"][0]["from"], 1, "PostgreSQL {major}: {r:#}");
        assert_eq!(r["timeline_switches"][0]["to"], 2, "{r:#}");
        // Its summary counts only what follows the switch: the copied parent records before
        // it belong to timeline 1's segment of the same number.
        let content = std::fs::read(pg_wal.join(&newest)).unwrap();
        let summary = tideline_core::wal::summary::summarize(&newest, &content, None, None).unwrap();
        let switch = lsn_value(r["timeline_switches"][0]["lsn"].as_str().unwrap());
        let after: Vec<&serde_json::Value> = r["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["outcome"] == "commit" && lsn_value(t["lsn"].as_str().unwrap()) > switch)
            .collect();
        assert_eq!(summary.commits as usize, after.len(), "PostgreSQL {major}: {summary:?}");
        assert!(!summary.previous_missing);
        copied += r["transactions"].as_array().unwrap().len() - after.len();
        home.cli(&["sandbox", "remove", s["id"].as_str().unwrap()], None).ok();
    }
    assert!(copied > 0, "PostgreSQL {major}: no fork segment began with copied commits to leave out");
    home.cli(&["pitr", "p", "--before-event", "1:4000000000"], None).err("target_invalid");
    home.cli(&["pitr", "p", "--before-event", "orders"], None).err("target_invalid");
});

/// `X/Y` as a number.
fn lsn_value(text: &str) -> u64 {
    let (hi, lo) = text.split_once('/').unwrap();
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

// What the incident screen says first: how many rows went, of how many the table had just
// before, and the share computed from the two — asserted against counts taken in SQL, for a
// table emptied, one halved and a 20 % UPDATE, read forward from the base backup's snapshot
// (the timeline) and back from a snapshot taken after them (`events`).
each_major!(fn rows_and_the_tables_rows_before_are_exact(major) {
    let (_, source, home) = archiving_profile(major);
    let pg = &source.pg;
    psql(
        pg,
        "postgres",
        "CREATE TABLE emptied (id int); INSERT INTO emptied SELECT generate_series(1, 2000);
         CREATE TABLE halved (id int); INSERT INTO halved SELECT generate_series(1, 4000);
         CREATE TABLE touched (id int, v int); INSERT INTO touched SELECT g, 0 FROM generate_series(1, 10000) g;",
    );
    home.cli(&["basebackup", "p"], None).ok();
    // Rows come and go after the snapshot, before the events: they must be counted in.
    psql(pg, "postgres", "INSERT INTO halved SELECT generate_series(4001, 6000)");
    let count = |table: &str| psql(pg, "postgres", &format!("SELECT count(*) FROM {table}")).parse::<u64>().unwrap();
    let mut expected = Vec::new();
    for (table, sql) in [
        ("emptied", "DELETE FROM emptied"),
        ("halved", "DELETE FROM halved WHERE id % 2 = 0"),
        ("touched", "UPDATE touched SET v = 1 WHERE id % 5 = 0"),
    ] {
        let before = count(table);
        let xid = psql(pg, "postgres", &format!("BEGIN; {sql}; SELECT txid_current(); COMMIT;"));
        let changed: u64 = if table == "touched" { before / 5 } else { before - count(table) };
        expected.push((format!("1:{xid}"), table, changed, before));
    }
    assert_eq!(expected.iter().map(|e| (e.2, e.3)).collect::<Vec<_>>(), [(2000, 2000), (3000, 6000), (2000, 10000)]);
    source.switch_and_wait();

    let timeline = home.cli(&["timeline", "p"], None).ok().clone();
    let listed = home.cli(&["events", "p"], None).ok().clone();
    for (what, events) in [("timeline", &timeline["events"]), ("events", &listed["events"])] {
        for (id, table, rows, before) in &expected {
            let e = find(events, id);
            let effect = &e["effects"][0];
            assert_eq!(effect["relation"], format!("public.{table}"), "PostgreSQL {major}, {what}: {e}");
            assert_eq!(effect["rows"], *rows, "PostgreSQL {major}, {what}: {e}");
            assert_eq!(effect["rows_before"], *before, "PostgreSQL {major}, {what}: {e}");
            let share = effect["share"].as_f64().unwrap();
            assert!((share - *rows as f64 / *before as f64).abs() < 1e-9, "PostgreSQL {major}, {what}: {e}");
        }
        let described: Vec<&str> = expected.iter().map(|(id, ..)| find(events, id)["description"].as_str().unwrap()).collect();
        assert_eq!(
            described,
            [
                "DELETE of 2,000 of 2,000 rows from public.emptied (100%)",
                "DELETE of 3,000 of 6,000 rows from public.halved (50%)",
                "UPDATE of 2,000 of 10,000 rows in public.touched (20%)",
            ],
            "PostgreSQL {major}, {what}"
        );
        let severities: Vec<&str> = expected.iter().map(|(id, ..)| find(events, id)["severity"].as_str().unwrap()).collect();
        assert_eq!(severities, ["high", "high", "medium"], "PostgreSQL {major}, {what}");
    }
});

// Tideline's own changes to live data — a copy-back that replaces a table's rows, a restore
// with --clean into another database — read "by Tideline" and rank after the accident they
// repair, which stays first.
each_major!(fn tidelines_own_changes_are_never_accidents(major) {
    let (_, source, home) = archiving_profile(major);
    let pg = &source.pg;
    let _cleanup = Sandboxes(&home);
    psql(pg, "postgres", "CREATE TABLE film (id int PRIMARY KEY, title text); INSERT INTO film SELECT g, 'f' || g FROM generate_series(1, 3000) g;");
    psql(pg, "postgres", "CREATE DATABASE \"shop.eu\"");
    psql(pg, "shop.eu", "CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 1500);");
    home.cli(&["basebackup", "p"], None).ok();
    let dump = home.cli(&["backup", "p", "--database", "shop.eu"], None).ok()["id"].as_str().unwrap().to_string();
    let accident = psql(pg, "postgres", "BEGIN; DELETE FROM film WHERE id > 1000; SELECT txid_current(); COMMIT;");
    let accident = format!("1:{accident}");
    source.switch_and_wait();

    let made = home.cli(&["pitr", "p", "--before-event", &accident], None).ok().clone();
    // The sandbox is named after the event, not the LSN it was recovered to.
    assert_eq!(made["label"], "Before DELETE of 2,000 of 3,000 rows from public.film (67%)", "{made}");
    let sandbox = made["id"].as_str().unwrap().to_string();
    let copy = ["sandbox", "copy-back", &sandbox, "--table", "public.film", "--to", "p", "--replace", "--yes"];
    home.cli(&copy, None).ok();
    assert_eq!(psql(pg, "postgres", "SELECT count(*) FROM film"), "3000");
    home.cli(&["restore", &dump, "--to-db", "shop.eu", "--clean"], None).ok();
    source.switch_and_wait();

    let listed = home.cli(&["events", "p"], None).ok().clone();
    let events = &listed["events"];
    let first = find(events, &accident);
    assert_eq!(first["rank"], 1, "PostgreSQL {major}: {listed:#}");
    assert!(first["by_tideline"].is_null(), "{first}");
    let own: Vec<&serde_json::Value> = events.as_array().unwrap().iter().filter(|e| e["id"] != accident).collect();
    let said = |prefix: &str| own.iter().any(|e| e["by_tideline"].as_str().is_some_and(|w| w.starts_with(prefix)));
    assert!(said(&format!("copy-back of public.film from sandbox {sandbox}")), "PostgreSQL {major}: {listed:#}");
    assert!(said(&format!("restore of backup {dump} into shop.eu")), "PostgreSQL {major}: {listed:#}");
    assert!(own.iter().all(|e| !e["by_tideline"].is_null()), "every other event is Tideline's: {listed:#}");
});
