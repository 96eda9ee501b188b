//! File operations for trees another OS user owns (a cluster's data directory, a WAL archive
//! its server writes into). Run as root, a path-based `chown`, `chmod` or `write` follows any
//! link that user planted — at `/etc/shadow`, say — between our check and our call. Everything
//! here works on opened descriptors, opened with `O_NOFOLLOW`, so a planted link is refused
//! (ELOOP) or replaced, never followed.

use rustix::fs::{AtFlags, Dir, FileType, Gid, Mode, OFlags, Uid, CWD};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

fn io(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);
// NONBLOCK: a FIFO planted under a file's name must not hang us on open.
const FILE_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC).union(OFlags::NONBLOCK);

/// Opens the directory `path`; a link in its last component is refused.
pub fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    rustix::fs::openat(CWD, path, DIR_FLAGS, Mode::empty()).map_err(io)
}

/// Opens `name` inside `dir`, a directory, refusing a link.
pub fn open_subdir(dir: impl AsFd, name: &str) -> std::io::Result<OwnedFd> {
    rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()).map_err(io)
}

/// Writes `text` as `dir/name` (mode `mode`, given to `owner` when set) through a new
/// temporary file renamed over it, fsynced: a link planted at `name` is replaced, not followed.
pub fn write_file(dir: &Path, name: &str, text: &[u8], mode: u32, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let dir_fd = open_dir(dir)?;
    let tmp = format!(".{name}.tmp-{}", uuid::Uuid::new_v4().simple());
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&dir_fd, tmp.as_str(), flags, Mode::from_raw_mode(mode)).map_err(io)?;
    let written = (|| {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(io)?;
        if let Some((uid, gid)) = owner {
            rustix::fs::fchown(&fd, Some(uid_of(uid)), Some(gid_of(gid))).map_err(io)?;
        }
        let mut file = std::fs::File::from(fd);
        file.write_all(text)?;
        file.sync_all()?;
        rustix::fs::renameat(&dir_fd, tmp.as_str(), &dir_fd, name).map_err(io)
    })();
    if written.is_err() {
        let _ = rustix::fs::unlinkat(&dir_fd, tmp.as_str(), AtFlags::empty());
    }
    written
}

/// Reads `dir/name`, refusing a link or anything but a regular file.
pub fn read_file(dir: &Path, name: &str) -> std::io::Result<String> {
    let dir_fd = open_dir(dir)?;
    let fd = rustix::fs::openat(&dir_fd, name, FILE_FLAGS, Mode::empty()).map_err(io)?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd).map_err(io)?.st_mode) != FileType::RegularFile {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{name} is not a regular file")));
    }
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text)?;
    Ok(text)
}

fn uid_of(uid: u32) -> Uid {
    // SAFETY-free: a uid is a number; from_raw only wraps it.
    Uid::from_raw(uid)
}

fn gid_of(gid: u32) -> Gid {
    Gid::from_raw(gid)
}

/// Gives `root` and everything under it to uid:gid, descending by descriptor: links are given
/// themselves (never their targets), and a directory swapped for a link midway is not entered.
pub fn give_tree(root: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    let fd = open_dir(root)?;
    give_dir(fd, uid, gid)
}

fn give_dir(dir: OwnedFd, uid: u32, gid: u32) -> std::io::Result<()> {
    rustix::fs::fchown(&dir, Some(uid_of(uid)), Some(gid_of(gid))).map_err(io)?;
    let mut entries = Dir::read_from(&dir).map_err(io)?;
    while let Some(entry) = entries.read() {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        match rustix::fs::openat(&dir, name, DIR_FLAGS, Mode::empty()) {
            Ok(sub) => give_dir(sub, uid, gid)?,
            // Not a directory (or a link to one): give the entry itself.
            Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                rustix::fs::chownat(&dir, name, Some(uid_of(uid)), Some(gid_of(gid)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(io)?
            }
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

/// Adds permission bits to `path` and, with `gid`, gives it that group — on the opened file,
/// so a link planted there is refused rather than followed. Returns false (touching nothing)
/// for anything but a regular file or a directory.
pub fn open_up(path: &Path, add: u32, gid: Option<u32>) -> std::io::Result<bool> {
    let fd = rustix::fs::openat(CWD, path, FILE_FLAGS, Mode::empty()).map_err(io)?;
    let stat = rustix::fs::fstat(&fd).map_err(io)?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind != FileType::RegularFile && kind != FileType::Directory {
        return Ok(false);
    }
    if let Some(gid) = gid.filter(|g| *g != stat.st_gid) {
        rustix::fs::fchown(&fd, None, Some(gid_of(gid))).map_err(io)?;
    }
    let mode = stat.st_mode & 0o7777;
    // fchown clears setgid on some systems: set the bits after it, from what we read.
    if mode & add != add || gid.is_some() {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode | add)).map_err(io)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    //! Links planted where root is about to write, chown or chmod. As a normal user the
    //! ownership changes are no-ops (to one's own uid), but the links must still not be followed.
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn victim(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("victim");
        std::fs::write(&path, "precious").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    #[test]
    fn a_link_planted_at_a_file_being_written_is_replaced_not_followed() {
        let (outside, tree) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let target = victim(outside.path());
        symlink(&target, tree.path().join("pg_hba.conf")).unwrap();
        write_file(tree.path(), "pg_hba.conf", b"ours", 0o600, None).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(tree.path().join("pg_hba.conf")).unwrap(), "ours");
        assert!(!std::fs::symlink_metadata(tree.path().join("pg_hba.conf")).unwrap().file_type().is_symlink());
        let leftovers: Vec<_> = std::fs::read_dir(tree.path()).unwrap().flatten().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left");
    }

    #[test]
    fn links_are_not_read_or_entered() {
        let (outside, tree) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let target = victim(outside.path());
        symlink(&target, tree.path().join("cluster.json")).unwrap();
        assert!(read_file(tree.path(), "cluster.json").is_err());
        symlink(outside.path(), tree.path().join("data")).unwrap();
        assert!(open_dir(&tree.path().join("data")).is_err());
    }

    #[test]
    fn giving_a_tree_gives_planted_links_themselves_and_opening_up_refuses_them() {
        let (outside, tree) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let target = victim(outside.path());
        let before = std::fs::metadata(&target).unwrap();
        std::fs::create_dir(tree.path().join("base")).unwrap();
        symlink(&target, tree.path().join("base/file-link")).unwrap();
        symlink(outside.path(), tree.path().join("dir-link")).unwrap();
        // Give everything to another user when we can (as root), else to ourselves.
        let (uid, gid) = if crate::cluster::running_as_root() { (65534, 65534) } else { (before.uid(), before.gid()) };
        give_tree(tree.path(), uid, gid).unwrap();
        let after = std::fs::metadata(&target).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()), "the link's target kept its owner");
        assert_eq!(std::fs::symlink_metadata(tree.path().join("base/file-link")).unwrap().uid(), uid);
        assert_eq!(std::fs::metadata(tree.path().join("base")).unwrap().uid(), uid);
        assert_eq!(std::fs::metadata(outside.path()).unwrap().uid(), before.uid(), "a linked directory is not entered");

        assert!(open_up(&tree.path().join("base/file-link"), 0o044, Some(gid)).is_err());
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o600, "the link's target kept its mode");
        let real = tree.path().join("base/real");
        std::fs::write(&real, "x").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(open_up(&real, 0o040, None).unwrap());
        assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o777, 0o640);
    }
}
