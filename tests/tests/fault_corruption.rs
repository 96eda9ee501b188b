//! The fault suite's corruption, on every major: one byte flipped at a seeded random offset in
//! every kind of artefact — a custom dump, a directory dump's table file, a base backup's tar,
//! a backup's manifest.json, an archived WAL segment, a WAL summary — and each must be found by
//! `verify` (or `wal verify`), and refused by what would read it (restore, PITR, the timeline),
//! with the file named. The original is put back after each trial. Counts are printed.

use crate::support::kill_points::{seed, trials};
use crate::support::{add_profile, psql, Home};
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Counts {
    trials: u32,
    detected: u32,
    refused: u32,
    problems: Vec<String>,
}

/// Flips one byte of `path` at a random offset; returns the original content.
fn flip(path: &Path, rng: &mut fastrand::Rng) -> Vec<u8> {
    let original = std::fs::read(path).unwrap();
    let mut bytes = original.clone();
    let at = rng.usize(..bytes.len());
    bytes[at] ^= 1 << rng.u8(..8);
    std::fs::write(path, bytes).unwrap();
    original
}

fn names(json: &serde_json::Value, file: &str) -> bool {
    json["message"].as_str().is_some_and(|m| m.contains(file))
}

impl Counts {
    /// Records whether `result` is a failure naming `file`; `refusal` counts it as a refusal.
    fn expect(&mut self, trial: &str, what: &str, result: &crate::support::CliResult, file: &str, refusal: bool) {
        if !result.output.status.success() && names(&result.json, file) {
            if refusal {
                self.refused += 1;
            } else {
                self.detected += 1;
            }
        } else {
            self.problems.push(format!("{trial}: {what} did not fail naming {file}: {}", result.json));
        }
    }
}

fn backup_dir(home: &Home, id: &str) -> PathBuf {
    PathBuf::from(home.cli(&["backups", "show", id], None).ok()["path"].as_str().unwrap())
}

fn files_of(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && keep(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out
}

each_major!(fn a_flipped_byte_in_any_artefact_is_found_and_refused(major) {
    let pw = password_and_source(major);
    let (source, pw) = (pw.0, pw.1);
    let home = Home::new();
    add_profile(&home, &source.pg, &pw);
    home.cli(&["repo", "path", source.repo.to_str().unwrap()], None).ok();
    source.switch_and_wait();
    psql(&source.pg, "postgres", "CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g");
    let id_of = |args: &[&str]| home.cli(args, None).ok()["id"].as_str().unwrap().to_string();
    let custom = id_of(&["backup", "p", "--format", "custom", "--compress", "none"]);
    let directory = id_of(&["backup", "p", "--format", "directory"]);
    let base = id_of(&["basebackup", "p"]);
    let mut segments = Vec::new();
    for i in 0..3 {
        psql(&source.pg, "postgres", &format!("INSERT INTO t SELECT g, 'more{i}' FROM generate_series(1, 5000) g"));
        segments.push(source.switch_and_wait());
    }
    let end = home.cli(&["timeline", "p"], None).ok()["window"]["timelines"][0]["latest"]["lsn"].clone();
    let end = end.as_str().unwrap().to_string();

    let mut rng = fastrand::Rng::with_seed(seed() ^ major as u64);
    let mut c = Counts::default();
    for i in 0..trials().min(3) {
        // A dump file and a directory dump's table file: verify finds it, restore refuses.
        for (id, pick) in [(&custom, "dump"), (&directory, "dat")] {
            let dir = backup_dir(&home, id);
            let files = match pick {
                "dump" => files_of(&dir, |n| n.ends_with(".dump")),
                _ => files_of(&dir.join("database.d"), |n| n.contains(".dat")),
            };
            let file = &files[rng.usize(..files.len())];
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let trial = format!("{pick} #{i} on {major}: {name}");
            let original = flip(file, &mut rng);
            c.trials += 1;
            c.expect(&trial, "verify", &home.cli(&["verify", id], None), &name, false);
            c.expect(&trial, "restore", &home.cli(&["restore", id, "--to-db", "never"], None), &name, true);
            std::fs::write(file, original).unwrap();
        }
        // A base backup's tar (or pg's own backup_manifest in it): verify, and PITR from it.
        let data = backup_dir(&home, &base).join("data");
        let files = files_of(&data, |_| true);
        let file = &files[rng.usize(..files.len())];
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let trial = format!("base #{i} on {major}: {name}");
        let original = flip(file, &mut rng);
        c.trials += 1;
        c.expect(&trial, "verify", &home.cli(&["verify", &base], None), &name, false);
        let pitr = home.cli(&["pitr", "p", "--immediate", "--from-backup", &base], None);
        c.expect(&trial, "pitr", &pitr, &name, true);
        std::fs::write(file, original).unwrap();
        // A backup's manifest.json: verify compares it with the catalog's copy.
        let id = [&custom, &directory, &base][rng.usize(..3)];
        let manifest = backup_dir(&home, id).join("manifest.json");
        let trial = format!("manifest #{i} on {major}: {id}");
        let original = flip(&manifest, &mut rng);
        c.trials += 1;
        c.expect(&trial, "verify", &home.cli(&["verify", id], None), "manifest.json", false);
        std::fs::write(&manifest, original).unwrap();
        // An archived segment: wal verify finds it, the timeline ends before it, PITR past it
        // is refused.
        let segment = &segments[rng.usize(..segments.len())];
        let path = source.wal.join(format!("{segment}.zst"));
        let trial = format!("wal #{i} on {major}: {segment}");
        let original = flip(&path, &mut rng);
        c.trials += 1;
        c.expect(&trial, "wal verify", &home.cli(&["wal", "verify", "p"], None), segment, false);
        let window = home.cli(&["timeline", "p"], None).ok()["window"].clone();
        if window["damaged"][0]["name"] == segment.as_str() {
            c.refused += 1;
        } else {
            c.problems.push(format!("{trial}: the timeline does not show it damaged: {window}"));
        }
        c.expect(&trial, "pitr", &home.cli(&["pitr", "p", "--lsn", &end], None), segment, true);
        std::fs::write(&path, original).unwrap();
        // A summary: wal verify finds it and writes it again.
        let summary = source.wal.join(format!("{segment}.json"));
        let trial = format!("summary #{i} on {major}: {segment}");
        let original = flip(&summary, &mut rng);
        c.trials += 1;
        let verified = home.cli(&["wal", "verify", "p"], None).ok().clone();
        if verified["rewritten_summaries"].as_array().is_some_and(|r| r.iter().any(|s| s == segment.as_str())) {
            c.detected += 1;
        } else {
            c.problems.push(format!("{trial}: wal verify did not find it: {verified}"));
            std::fs::write(&summary, original).unwrap();
        }
    }
    // Everything whole again: every check passes.
    for id in [&custom, &directory, &base] {
        home.cli(&["verify", id], None).ok();
    }
    home.cli(&["wal", "verify", "p"], None).ok();
    report(major, &c);
    assert_eq!(home.cli(&["sandbox", "list"], None).ok()["sandboxes"].as_array().unwrap().len(), 0);
});

fn password_and_source(major: u32) -> (crate::support::ArchivingSource, String) {
    let pw = crate::support::password();
    (crate::support::ArchivingSource::start(major, Some(&pw), vec![]), pw)
}

fn report(major: u32, c: &Counts) {
    let line = format!(
        "corruption on PostgreSQL {major} (seed {}): {} flipped bytes, {} found by verify, {} refused by restore, PITR or the timeline, {} missed",
        seed(),
        c.trials,
        c.detected,
        c.refused,
        c.problems.len()
    );
    crate::support::kill_points::report(&line);
    assert!(c.problems.is_empty(), "{line}\n{}", c.problems.join("\n"));
}
