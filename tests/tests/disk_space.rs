//! Backups and restores that cannot fit are refused before anything is written: the
//! repository's free space for a backup, a local server's data directory for a restore.
//! Small file systems are tmpfs mounts (the tests run as root, as the brief's machines do).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{load_sample, majors, password, psql, Home, TestCluster};

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
