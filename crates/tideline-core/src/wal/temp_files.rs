//! Temporary files in the WAL archive, named `.tmp-<name>.<pid>-<start>.<random>`: created with
//! O_EXCL under a random name (nothing planted under a predictable name is followed or
//! clobbered), and carrying their writer, so the next writer removes those whose writer is gone
//! (a killed wal-push left its temporary file for good).

use crate::error::{Error, Result};
use std::path::Path;
use tempfile::NamedTempFile;

pub(crate) const PREFIX: &str = ".tmp-";

/// A new temporary file for `name` in `dir`, mode 0640.
pub(crate) fn create(dir: &Path, name: &str) -> Result<NamedTempFile> {
    let writer = crate::process::this_process().replace(':', "-");
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{name}.{writer}."))
        .rand_bytes(8)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o640))
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))
}

/// The writer of a temporary file (`pid:start`), from its name; `None` for names of other forms.
fn writer_of(file_name: &str) -> Option<String> {
    let rest = file_name.strip_prefix(PREFIX)?;
    let mut parts = rest.rsplit('.');
    let (_random, writer) = (parts.next()?, parts.next()?);
    let (pid, start) = writer.split_once('-')?;
    (pid.parse::<u32>().is_ok() && start.parse::<u64>().is_ok()).then(|| format!("{pid}:{start}"))
}

/// Removes temporary files whose writer no longer runs. Files of the older `.tmp-<name>.<pid>`
/// form go when that pid runs no process.
pub(crate) fn remove_abandoned(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(PREFIX) {
            continue;
        }
        let abandoned = match writer_of(&name) {
            Some(writer) => !crate::process::process_alive(&writer),
            None => name
                .rsplit('.')
                .next()
                .and_then(|pid| pid.parse::<i32>().ok())
                .is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0),
        };
        if abandoned && std::fs::remove_file(entry.path()).is_ok() {
            tracing::info!(file = %name, "removed a temporary file a stopped writer left");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_writers_file_goes_and_a_live_ones_stays() {
        let dir = tempfile::tempdir().unwrap();
        let mine = create(dir.path(), "000000010000000000000001.partial").unwrap();
        let name = mine.path().file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(writer_of(&name), Some(crate::process::this_process()));
        let dead = dir.path().join(".tmp-000000010000000000000002.4194303-1.abcdefgh");
        let old_form = dir.path().join(".tmp-000000010000000000000003.4194303");
        std::fs::write(&dead, b"x").unwrap();
        std::fs::write(&old_form, b"x").unwrap();
        remove_abandoned(dir.path());
        assert!(mine.path().exists() && !dead.exists() && !old_form.exists());
    }
}
