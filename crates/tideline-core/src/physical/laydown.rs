//! Laying a base backup down as a data directory: a plain backup is copied, a tar backup is
//! unpacked (base.tar with its compression, each tablespace's tar, and pg_wal.tar into
//! pg_wal). What sandboxes and in-place restores start from; `dest` must not exist yet.

use super::basebackup::DATA_DIR;
use super::options::BaseFormat;
use crate::error::{Error, ErrorCode, Result};
use crate::repo::manifest::Manifest;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// A reader of `path` that undoes the compression its name says.
fn decompressed(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".zst") {
        Box::new(zstd::stream::Decoder::new(file).map_err(|e| Error::io(format!("reading {}", path.display()), e))?)
    } else if name.ends_with(".gz") {
        // Multi: a gzip file may hold several members, and all of them are the content.
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else if name.ends_with(".lz4") {
        Box::new(lz4_flex::frame::FrameDecoder::new(file))
    } else {
        Box::new(file)
    })
}

fn unpack(archive: &Path, into: &Path) -> Result<()> {
    std::fs::create_dir_all(into).map_err(|e| Error::io(format!("creating {}", into.display()), e))?;
    let mut tar = tar::Archive::new(decompressed(archive)?);
    tar.set_preserve_permissions(true);
    tar.unpack(into).map_err(|e| {
        Error::new(
            ErrorCode::ChecksumMismatch,
            format!("{} cannot be unpacked: {e}", archive.display()),
            "The backup is damaged; `tideline backups show ID` names its files and their checksums.",
        )
    })
}

/// Copies a directory tree: directories and links first, then the files on every core
/// (a data directory is thousands of files; one thread leaves the disk idle between them).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src_dir, dst_dir)) = stack.pop() {
        std::fs::create_dir_all(&dst_dir).map_err(|e| Error::io(format!("creating {}", dst_dir.display()), e))?;
        for entry in std::fs::read_dir(&src_dir).map_err(|e| Error::io(format!("reading {}", src_dir.display()), e))? {
            let entry = entry.map_err(|e| Error::io(format!("reading {}", src_dir.display()), e))?;
            let (src, dst) = (entry.path(), dst_dir.join(entry.file_name()));
            let kind = entry.file_type().map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
            if kind.is_dir() {
                stack.push((src, dst));
            } else if kind.is_symlink() {
                let target =
                    std::fs::read_link(&src).map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
                std::os::unix::fs::symlink(target, &dst)
                    .map_err(|e| Error::io(format!("linking {}", dst.display()), e))?;
            } else {
                files.push((src, dst));
            }
        }
    }
    files.par_iter().try_for_each(|(src, dst)| {
        std::fs::copy(src, dst).map(|_| ()).map_err(|e| Error::io(format!("copying {}", src.display()), e))
    })
}

/// Where a laid-down data directory's tablespaces go: `<dest>.tablespaces/<oid>`.
pub fn tablespace_root(dest: &Path) -> std::path::PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".tablespaces");
    dest.with_file_name(name)
}

/// Lays the base backup in `backup_dir` (described by `manifest`) down at `dest`, mode 0700.
pub fn lay_down(backup_dir: &Path, manifest: &Manifest, dest: &Path) -> Result<()> {
    let physical = manifest.physical.as_ref().ok_or_else(|| {
        Error::invalid_input(format!("backup {} is not a base backup", manifest.id), "Choose a base backup.")
    })?;
    if dest.exists() {
        return Err(Error::invalid_input(
            format!("{} exists; a backup is only laid down into a new directory", dest.display()),
            "Choose a directory that does not exist yet.",
        ));
    }
    let src = backup_dir.join(DATA_DIR);
    match physical.format {
        BaseFormat::Plain => copy_tree(&src, dest)?,
        BaseFormat::Tar => {
            let mut tars: Vec<_> = std::fs::read_dir(&src)
                .map_err(|e| Error::io(format!("reading {}", src.display()), e))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".tar")))
                .collect();
            tars.sort();
            let mut tablespaces = Vec::new();
            let mut jobs = Vec::new();
            for tar in tars {
                let name = tar.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                let into = if name.starts_with("base.tar") {
                    dest.to_path_buf()
                } else if name.starts_with("pg_wal.tar") {
                    dest.join("pg_wal")
                } else {
                    // A tablespace (<oid>.tar): beside the data directory, never at the
                    // source's own tablespace path; its pg_tblspc link is pointed there below.
                    let oid = name.split('.').next().unwrap_or_default().to_string();
                    tablespaces.push(oid.clone());
                    tablespace_root(dest).join(oid)
                };
                jobs.push((tar, into));
            }
            // Each archive (base, WAL, every tablespace) decompresses on its own core.
            use rayon::prelude::*;
            jobs.par_iter().try_for_each(|(tar, into)| unpack(tar, into))?;
            for oid in tablespaces {
                let link = dest.join("pg_tblspc").join(&oid);
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(tablespace_root(dest).join(&oid), &link)
                    .map_err(|e| Error::io(format!("linking {}", link.display()), e))?;
            }
            std::fs::create_dir_all(dest.join("pg_wal")).map_err(|e| Error::io("creating pg_wal", e))?;
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("restricting {}", dest.display()), e))
}
