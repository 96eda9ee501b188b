//! Backups and restores that cannot fit are refused before anything is written: the
//! repository's free space for a backup, a local server's data directory for a restore.
//! Small file systems are tmpfs mounts (the tests run as root, as the brief's machines do).

use crate::support::{load_sample, majors, password, psql, Home, TestCluster};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `mb` MiB, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(mb: u32) -> SmallDisk {
        assert!(tideline_core::cluster::running_as_root(), "these tests mount a tmpfs and need root");
        let dir = tempfile::Builder::new().prefix("tideline-disk-").tempdir().unwrap().keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m,mode=1777"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount tmpfs");
        SmallDisk(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Fills the disk until about `left_mb` MiB stay free.
    fn fill_leaving(&self, left_mb: u64) {
        let free = tideline_core::repo::free_bytes(&self.0).unwrap();
        let ballast = free.saturating_sub(left_mb * 1024 * 1024);
        let f = std::fs::File::create(self.0.join("ballast")).unwrap();
        std::io::Write::write_all(&mut std::io::BufWriter::new(f), &vec![0u8; ballast as usize]).unwrap();
    }

    fn empty(&self) {
        let _ = std::fs::remove_file(self.0.join("ballast"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn grow(pg: &TestCluster) {
    // ≈ 30 MB of random text, so the database clearly outgrows the small disks.
    psql(pg, "shop", "CREATE TABLE filler AS SELECT g, md5(random()::text) || md5(random()::text) AS t FROM generate_series(1, 300000) g");
}

#[test]
fn a_backup_that_cannot_fit_in_the_repository_is_refused() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    grow(&pg);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let disk = SmallDisk::mount(4);
    let repo = disk.path().join("repo");
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    let refused = home.cli(&["backup", "p", "--format", "custom"], None);
    assert!(refused.err("insufficient_space")["message"].as_str().unwrap().contains("bytes free"));
    let written: Vec<_> = walk(&repo);
    assert!(written.is_empty(), "nothing was written: {written:?}");
}

#[test]
fn a_restore_that_cannot_fit_on_a_local_server_is_refused() {
    let major = majors()[0];
    let pw = password();
    let source = TestCluster::start(major, Some(&pw));
    load_sample(&source, "shop");
    grow(&source);
    let home = Home::new();
    home.cli(&["profile", "add", "src", "--url", &source.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let id = home.cli(&["backup", "src", "--format", "custom"], None).ok()["id"].as_str().unwrap().to_string();

    let disk = SmallDisk::mount(256);
    let target = TestCluster::start_under(disk.path(), major, Some(&pw), vec![], |_| {});
    home.cli(&["profile", "add", "dst", "--url", &target.url("postgres"), "--password-stdin"], Some(&pw)).ok();
    disk.fill_leaving(8);
    let refused = home.cli(&["restore", &id, "--profile", "dst", "--to-db", "shop"], None);
    refused.err("insufficient_space");
    assert_eq!(psql(&target, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'shop'"), "0");
    disk.empty();
    home.cli(&["restore", &id, "--profile", "dst", "--to-db", "shop"], None).ok();
    assert_eq!(psql(&target, "shop", "SELECT count(*) FROM filler"), "300000");
}

#[test]
fn a_base_backup_that_cannot_fit_in_the_repository_is_refused() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let disk = SmallDisk::mount(4);
    let repo = disk.path().join("repo");
    home.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    let refused = home.cli(&["basebackup", "p", "--format", "plain"], None);
    assert!(refused.err("insufficient_space")["message"].as_str().unwrap().contains("bytes free"));
    let written: Vec<_> = walk(&repo);
    assert!(written.is_empty(), "nothing was written: {written:?}");
}

#[test]
fn a_disk_that_fills_during_pg_dumpall_says_so_and_keeps_earlier_backups() {
    let major = majors()[0];
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    grow(&pg);
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let disk = SmallDisk::mount(12);
    home.cli(&["repo", "path", disk.path().join("repo").to_str().unwrap()], None).ok();
    let globals = home.cli(&["dumpall", "p", "--globals-only"], None).ok()["id"].as_str().unwrap().to_string();

    let failed = home.cli(&["dumpall", "p"], None).err("insufficient_space").clone();
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("filled up") && message.contains("pg_dumpall"), "{failed}");
    let listed = home.cli(&["backups", "list"], None).ok()["backups"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "only the earlier backup is listed: {listed}");
    home.cli(&["verify", &globals], None).ok();
    let leftovers: Vec<_> =
        walk(&disk.path().join("repo")).into_iter().filter(|p| p.to_string_lossy().contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// wal-push on a disk with room for the segment but not its summary: the segment is stored
/// (PostgreSQL may recycle it), and no empty temporary summary is left behind.
#[test]
fn wal_push_on_a_full_disk_leaves_no_temporary_summary() {
    let major = majors()[0];
    let pg = TestCluster::start_with(major, None, vec![("wal_level".into(), "replica".into())]);
    psql(&pg, "postgres", "CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
    let segment = psql(&pg, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())");
    psql(&pg, "postgres", "SELECT pg_switch_wal()");
    let data = pg.get().data_dir();
    let source = data.join("pg_wal").join(&segment);
    let push = |repo: &Path| {
        Command::new(crate::support::tideline_bin())
            .args(["wal-push", "--repo"])
            .arg(repo)
            .arg("--pgdata")
            .arg(&data)
            .arg(&source)
            .output()
            .unwrap()
    };
    // The compressed segment's size, from a push to a roomy repository.
    let roomy = tempfile::tempdir().unwrap();
    assert!(push(roomy.path()).status.success());
    let stored = walk(roomy.path()).into_iter().find(|p| p.extension().is_some_and(|e| e == "zst")).unwrap();
    let zst_bytes = std::fs::metadata(&stored).unwrap().len();

    let disk = SmallDisk::mount(64);
    let repo = disk.path().join("repo");
    // The directories first (as on a repository in use), then ballast up to the segment's size.
    assert!(push(&repo).status.success());
    for f in walk(&repo) {
        std::fs::remove_file(f).unwrap();
    }
    let free = tideline_core::repo::free_bytes(disk.path()).unwrap();
    let page = 4096;
    let ballast = free - zst_bytes.div_ceil(page) * page;
    std::fs::write(disk.path().join("ballast"), vec![0u8; ballast as usize]).unwrap();
    let out = push(&repo);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files = walk(&repo);
    assert!(files.iter().any(|p| p.extension().is_some_and(|e| e == "zst")), "{files:?}");
    // The disk had no room for the summary: that is the case under test.
    assert!(!files.iter().any(|p| p.extension().is_some_and(|e| e == "json")), "{files:?}");
    let temporary: Vec<_> = files.iter().filter(|p| p.to_string_lossy().contains(".tmp-")).collect();
    assert!(temporary.is_empty(), "left behind: {temporary:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// A second installation whose repository's disk is full brings a backup home from the
/// bucket: a coded error naming the disk, no half-written file left, and once there is room
/// the same command brings it whole.
#[test]
fn a_backup_brought_home_onto_a_full_disk_says_so_and_leaves_no_half_file() {
    use crate::support::garage::{add_repository, Garage};
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-full-disk");
    let pw = password();
    let pg = TestCluster::start(majors()[0], Some(&pw));
    load_sample(&pg, "shop");
    grow(&pg);
    let (first, second) = (Home::new(), Home::new());
    for home in [&first, &second] {
        add_repository(home, "off", (&garage, 0, &bucket), &bucket.secret, &["--no-encryption"], None).ok();
        home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    }
    first.cli(&["profile", "edit", "p", "--repo", "off"], None).ok();
    let id = first.cli(&["backup", "p", "--format", "custom"], None).ok()["id"].as_str().unwrap().to_string();

    let disk = SmallDisk::mount(64);
    let repo = disk.path().join("repo");
    second.cli(&["repo", "path", repo.to_str().unwrap()], None).ok();
    second.cli(&["repo", "rescan", "--repo", "off"], None).ok();
    disk.fill_leaving(1);
    let full = second.cli(&["verify", &id], None);
    let error = full.err("insufficient_space");
    assert!(error["message"].as_str().unwrap().contains("full"), "{error}");
    let half: Vec<_> = walk(&repo).into_iter().filter(|p| p.to_string_lossy().contains(".tmp")).collect();
    assert!(half.is_empty(), "no half-written file: {half:?}");

    disk.empty();
    let verified = second.cli(&["verify", &id], None).ok().clone();
    assert_eq!(verified["status"], "passed", "{verified}");
}
