//! A repository's encryption identity (an `age` X25519 key) and its recovery kit. The identity
//! lives in the OS keychain; files are encrypted to its recipient (the public half), which is
//! all wal-push needs. The recovery kit is the identity encrypted with a passphrase the user
//! chose (age's scrypt recipient, armored): decrypted, it is an ordinary age identity file, so
//! `age -d -i` reads the repository without Tideline.

use crate::error::{Error, ErrorCode, Result};
use crate::secret::Secret;
use age::secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// Keychain account of a repository's encryption identity.
pub fn identity_account(repository_id: &str) -> String {
    format!("repository/{repository_id}/identity")
}

/// Keychain account of a bucket repository's secret access key.
pub fn secret_key_account(repository_id: &str) -> String {
    format!("repository/{repository_id}/secret-key")
}

/// A repository's key: the current identity first, then those it replaced (`repo key rotate`),
/// newest first. Files are written to the current one's recipient and read with any of them,
/// so a rotation re-wraps the old keys and never re-encrypts a file. Written out, it is an age
/// identity file with one line per key, which `age -d -i` reads as it is.
pub struct Identity(Vec<age::x25519::Identity>);

impl Identity {
    pub fn generate() -> Identity {
        Identity(vec![age::x25519::Identity::generate()])
    }

    /// A new current identity, keeping this one's keys to read what they wrote.
    pub fn rotated(&self) -> Identity {
        let mut keys = vec![age::x25519::Identity::generate()];
        keys.extend(self.0.iter().cloned());
        Identity(keys)
    }

    /// The current public recipient (`age1…`): safe to write anywhere.
    pub fn recipient(&self) -> String {
        self.0[0].to_public().to_string()
    }

    /// Every key, one line each, current first.
    pub fn to_secret(&self) -> Secret {
        let lines: Vec<String> = self.0.iter().map(|k| k.to_string().expose_secret().to_string()).collect();
        Secret::new(lines.join("\n"))
    }

    /// The first key the repository had: what its names are hidden with, whatever rotations
    /// came after (a new one would scatter every backup under new names).
    pub fn first_secret(&self) -> Secret {
        Secret::new(self.0.last().expect("an identity has a key").to_string().expose_secret())
    }

    pub fn from_secret(secret: &Secret) -> Result<Identity> {
        let keys: Vec<age::x25519::Identity> = secret
            .expose()
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
            .filter_map(|l| age::x25519::Identity::from_str(l).ok())
            .collect();
        if keys.is_empty() {
            return Err(Error::new(
                ErrorCode::RecoveryKitInvalid,
                "the text holds no age identity",
                "Use the recovery kit Tideline wrote when the repository was made (or last had its key rotated).",
            ));
        }
        Ok(Identity(keys))
    }

    fn identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.0.iter().map(|k| k as &dyn age::Identity)
    }

    /// A reader of what `ciphertext` holds, decrypted as it is read.
    pub fn decrypting(&self, ciphertext: Box<dyn std::io::Read + Send>) -> Result<Box<dyn std::io::Read + Send>> {
        let decryptor = age::Decryptor::new_buffered(std::io::BufReader::new(ciphertext)).map_err(not_ours)?;
        let reader = decryptor.decrypt(self.identities()).map_err(not_ours)?;
        Ok(Box::new(Authenticated(reader)))
    }

    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let mut plain = Vec::new();
        let mut reader = self.decrypting(Box::new(std::io::Cursor::new(ciphertext.to_vec())))?;
        std::io::Read::read_to_end(&mut reader, &mut plain)
            .map_err(|e| crate::repo::store::from_io(e, "decrypting"))?;
        Ok(plain)
    }
}

/// age checks every 64 KiB chunk as it is read; a chunk that fails (a flipped byte) is a
/// damaged file, said with its code, not an I/O error.
struct Authenticated<R>(R);

impl<R: std::io::Read> std::io::Read for Authenticated<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => crate::repo::store::io_error(Error::new(
                ErrorCode::ChecksumMismatch,
                format!("an encrypted file fails its authentication: {e}"),
                "The copy in the repository is damaged (or was altered). Nothing was written from it; use another copy of the backup.",
            )),
            _ => e,
        })
    }
}

fn not_ours(e: age::DecryptError) -> Error {
    Error::new(
        ErrorCode::ChecksumMismatch,
        format!("an encrypted file does not open with the repository's key: {e}"),
        "The file is damaged or was encrypted for another repository.",
    )
}

/// A writer that encrypts to `recipient` into `out`; `finish` it to write the last chunk.
pub fn encrypting<W: std::io::Write>(recipient: &str, out: W) -> Result<age::stream::StreamWriter<W>> {
    let recipient = age::x25519::Recipient::from_str(recipient)
        .map_err(|e| Error::internal(format!("the repository's recipient '{recipient}' is not an age key: {e}")))?;
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .map_err(|e| Error::internal(format!("encrypting: {e}")))?;
    encryptor.wrap_output(out).map_err(|e| Error::io("encrypting", e))
}

/// Files are encrypted to a recipient: no secret is needed to write.
pub fn encrypt_to(recipient: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
    let recipient = age::x25519::Recipient::from_str(recipient)
        .map_err(|e| Error::internal(format!("the repository's recipient '{recipient}' is not an age key: {e}")))?;
    age::encrypt(&recipient, plaintext).map_err(|e| Error::internal(format!("encrypting: {e}")))
}

/// Writes the recovery kit: the identity with a comment saying what it opens, encrypted with
/// `passphrase`. Never replaces a file (a kit already there may be the only copy of another
/// repository's key); written under a temporary name, fsynced, linked into place, 0600.
pub fn write_kit(path: &Path, identity: &Identity, passphrase: &Secret, about: &str) -> Result<()> {
    check_passphrase(passphrase)?;
    let plain = format!(
        "# Tideline recovery kit: {about}\n# recipient: {}\n{}\n",
        identity.recipient(),
        identity.to_secret().expose()
    );
    let recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.expose().to_string()));
    let armored = age::encrypt_and_armor(&recipient, plain.as_bytes())
        .map_err(|e| Error::internal(format!("encrypting the recovery kit: {e}")))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tideline-kit-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("writing the recovery kit in {}", dir.display()), e))?;
    tmp.write_all(armored.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("writing the recovery kit", e))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::new(
                ErrorCode::TargetNotEmpty,
                format!("{} already exists; it was not replaced", path.display()),
                "Give --recovery-kit a new file name; keep the old kit, it may open another repository.",
            )
        } else {
            Error::io(format!("writing the recovery kit {}", path.display()), e.error)
        }
    })?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing the recovery kit's directory", e))
}

/// Opens a recovery kit with its passphrase.
pub fn read_kit(path: &Path, passphrase: &Secret) -> Result<Identity> {
    let text = std::fs::read(path).map_err(|e| Error::io(format!("reading the recovery kit {}", path.display()), e))?;
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_string()));
    let plain = age::decrypt(&identity, &text).map_err(|e| {
        Error::new(
            ErrorCode::RecoveryKitInvalid,
            format!("{} does not open with that passphrase: {e}", path.display()),
            "Check the passphrase (it is the one chosen when the kit was saved) and that the file is the kit Tideline wrote.",
        )
    })?;
    Identity::from_secret(&Secret::new(String::from_utf8_lossy(&plain).to_string()))
}

fn check_passphrase(passphrase: &Secret) -> Result<()> {
    if passphrase.expose().chars().count() < 8 {
        return Err(Error::invalid_input(
            "the recovery-kit passphrase is shorter than 8 characters",
            "Choose a longer passphrase: anyone with the kit file and the passphrase can read every backup.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kit_opens_with_its_passphrase_only_and_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let kit = dir.path().join("kit.age");
        let identity = Identity::generate();
        let pass = Secret::new("correct horse battery");
        write_kit(&kit, &identity, &pass, "test").unwrap();
        assert_eq!(read_kit(&kit, &pass).unwrap().recipient(), identity.recipient());
        assert_eq!(read_kit(&kit, &Secret::new("wrong passphrase")).err().unwrap().code, ErrorCode::RecoveryKitInvalid);
        assert_eq!(write_kit(&kit, &Identity::generate(), &pass, "x").unwrap_err().code, ErrorCode::TargetNotEmpty);
        assert_eq!(
            write_kit(&dir.path().join("k2"), &identity, &Secret::new("short"), "x").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        let sealed = encrypt_to(&identity.recipient(), b"rows").unwrap();
        assert_eq!(identity.decrypt(&sealed).unwrap(), b"rows");
    }

    #[test]
    fn a_rotated_key_reads_what_the_old_one_wrote_and_keeps_the_names_key() {
        let old = Identity::generate();
        let written_before = encrypt_to(&old.recipient(), b"before").unwrap();
        let new = old.rotated();
        assert_ne!(new.recipient(), old.recipient());
        assert_eq!(new.decrypt(&written_before).unwrap(), b"before");
        assert_eq!(new.first_secret().expose(), old.first_secret().expose());
        let written_after = encrypt_to(&new.recipient(), b"after").unwrap();
        assert_eq!(
            old.decrypt(&written_after).unwrap_err().code,
            ErrorCode::ChecksumMismatch,
            "the old key alone cannot"
        );

        // Through a kit and back: every key, current first.
        let dir = tempfile::tempdir().unwrap();
        let kit = dir.path().join("kit.age");
        write_kit(&kit, &new, &Secret::new("correct horse battery"), "test").unwrap();
        let back = read_kit(&kit, &Secret::new("correct horse battery")).unwrap();
        assert_eq!(back.recipient(), new.recipient());
        assert_eq!(back.decrypt(&written_before).unwrap(), b"before");
    }
}
