//! A prefix in an S3-compatible bucket as a `Store`, through `object_store`: AWS S3, R2, B2,
//! Wasabi, Hetzner, Garage, SeaweedFS, Ceph RGW, MinIO. Requests are retried with backoff on
//! 5xx, 408, 429 and timeouts (object_store's retry policy); what still fails is mapped to a
//! coded error whose hint names the likely cause.

use super::{ObjectWriter, Store, Stored};
use crate::error::{Error, ErrorCode, Result};
use crate::secret::Secret;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use ts_rs::TS;

/// Where a bucket repository is: what `repo add --s3` was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct S3Location {
    pub bucket: String,
    /// Inside the bucket, without leading or trailing '/'; may be empty.
    pub prefix: String,
    /// `https://…`; absent for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`.
    pub path_style: bool,
}

impl S3Location {
    /// `s3://BUCKET/PREFIX` into bucket and prefix.
    pub fn parse_url(url: &str) -> Result<(String, String)> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            Error::invalid_input(
                format!("'{url}' is not an s3:// address"),
                "Write it as s3://BUCKET/PREFIX (the prefix may be empty).",
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.len() < 3 || bucket.len() > 63 {
            return Err(Error::invalid_input(
                format!("'{bucket}' is not a bucket name"),
                "Bucket names are 3 to 63 characters: lower-case letters, digits, dots and hyphens.",
            ));
        }
        Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
    }

    pub fn url(&self) -> String {
        match self.prefix.as_str() {
            "" => format!("s3://{}", self.bucket),
            p => format!("s3://{}/{p}", self.bucket),
        }
    }
}

/// How long to keep trying. Backups ride out a store's bad minutes; archive_command and
/// restore_command give up sooner, since PostgreSQL calls them again; `repo test` answers fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    Job,
    Archive,
    Probe,
}

impl Patience {
    /// object_store's backoff is decorrelated jitter: each wait is drawn between the first and
    /// `base` times the last, so with its defaults (0.1 s, ×2) ten retries gave up after a
    /// median 2.6 s of waiting, not the minutes meant. Here the time is the limit: the count
    /// is set far above what the time allows, and the waits grow ×3 from half a second.
    fn retry(self) -> RetryConfig {
        let backoff =
            BackoffConfig { init_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(15), base: 3.0 };
        let (max_retries, retry_timeout) = match self {
            Patience::Job => (1_000, retry_timeout(180)),
            Patience::Archive => (1_000, retry_timeout(30)),
            Patience::Probe => (1, Duration::from_secs(10)),
        };
        RetryConfig { backoff, max_retries, retry_timeout }
    }
}

pub struct S3Store {
    inner: Arc<AmazonS3>,
    location: S3Location,
    /// For the requests object_store does not make (`s3_uploads`), signed with its signer.
    access_key_id: String,
    secret: Secret,
}

impl S3Store {
    pub fn open(location: &S3Location, access_key_id: &str, secret: &Secret, patience: Patience) -> Result<S3Store> {
        // reqwest is built without a default TLS provider (one provider for the whole process).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = patience.retry();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret.expose())
            .with_virtual_hosted_style_request(!location.path_style)
            .with_retry(retry)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120))
                    .with_allow_http(location.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))),
            );
        if let Some(endpoint) = location.bucket_endpoint()? {
            builder = builder.with_endpoint(endpoint);
        }
        let inner = builder.build().map_err(|e| {
            Error::invalid_input(
                format!("{} cannot be used: {}", location.url(), chain(&e)),
                "Check the endpoint URL and the region.",
            )
        })?;
        Ok(S3Store {
            inner: Arc::new(inner),
            location: location.clone(),
            access_key_id: access_key_id.to_string(),
            secret: secret.clone(),
        })
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    pub(super) fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(super) fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The object for repository path `key`, spelt as given. `ObjectPath::from` would
    /// percent-encode `%`, quotes, `#`, `~`…, so a repository path that holds them (an odd
    /// database's name) would come back from a listing spelt otherwise than it went up.
    fn object(&self, key: &str) -> ObjectPath {
        let full = match self.location.prefix.as_str() {
            "" => key.to_string(),
            p => format!("{p}/{key}"),
        };
        ObjectPath::parse(&full).unwrap_or_else(|_| ObjectPath::from(full))
    }

    fn key_of(&self, path: &ObjectPath) -> String {
        let full = path.as_ref();
        match self.location.prefix.as_str() {
            "" => full.to_string(),
            p => full.strip_prefix(p).map(|k| k.trim_start_matches('/')).unwrap_or(full).to_string(),
        }
    }

    fn failed(&self, doing: &str, e: object_store::Error) -> Error {
        store_error(&self.location, doing, &e)
    }

    /// Uploads `bytes` in parts (S3 multipart): what large files take, and what `repo test`
    /// checks the store accepts. A failed upload is aborted, so no parts are left behind.
    pub async fn put_in_parts(&self, key: &str, bytes: Bytes, part_size: usize) -> Result<()> {
        let path = self.object(key);
        let mut upload =
            self.inner.put_multipart(&path).await.map_err(|e| self.failed("starting a multipart upload", e))?;
        let sent = async {
            for chunk in bytes.chunks(part_size) {
                upload.put_part(PutPayload::from(Bytes::copy_from_slice(chunk))).await?;
            }
            upload.complete().await
        }
        .await;
        if let Err(e) = sent {
            let _ = upload.abort().await;
            return Err(self.failed("uploading in parts", e));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for S3Store {
    fn describe(&self) -> String {
        self.location.url()
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.inner.put(&self.object(key), PutPayload::from(bytes)).await.map_err(|e| self.failed("writing", e))?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<bool> {
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&self.object(key), PutPayload::from(bytes), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.failed("writing", e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.inner.get(&self.object(key)).await {
            Ok(got) => Ok(Some(got.bytes().await.map_err(|e| self.failed("reading", e))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("reading", e)),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<Stored>> {
        match self.inner.head(&self.object(key)).await {
            Ok(meta) => Ok(Some(Stored { key: key.to_string(), size: meta.size, modified: meta.last_modified })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("reading", e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Stored>> {
        // object_store lists by whole path segments; the key prefix is filtered here.
        let dir = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let base = if dir.is_empty() && self.location.prefix.is_empty() { None } else { Some(self.object(dir)) };
        let metas: Vec<_> =
            self.inner.list(base.as_ref()).try_collect().await.map_err(|e| self.failed("listing", e))?;
        let mut out: Vec<Stored> = metas
            .into_iter()
            .map(|m| Stored { key: self.key_of(&m.location), size: m.size, modified: m.last_modified })
            .filter(|s| s.key.starts_with(prefix))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&self.object(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed("removing", e)),
        }
    }

    fn open_read(&self, key: &str, rt: &tokio::runtime::Handle) -> Result<Option<Box<dyn std::io::Read + Send>>> {
        let got = match rt.block_on(self.inner.get(&self.object(key))) {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.failed("reading", e)),
        };
        let location = self.location.clone();
        let stream = got.into_stream().map_err(move |e| super::io_error(store_error(&location, "reading", &e)));
        let reader = tokio_util::io::StreamReader::new(stream);
        Ok(Some(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            tokio_util::io::SyncIoBridge::new_with_handle(reader, rt.clone()),
        ))))
    }

    fn open_write(&self, key: &str, rt: &tokio::runtime::Handle) -> Result<Box<dyn ObjectWriter>> {
        Ok(Box::new(S3Writer {
            inner: self.inner.clone(),
            path: self.object(key),
            location: self.location.clone(),
            rt: rt.clone(),
            buffer: Vec::new(),
            upload: None,
            sending: Default::default(),
        }))
    }
}

/// Parts of a multipart upload: S3 takes 5 MiB to 5 GiB, and at most 10,000 of them; 16 MiB
/// parts reach 160 GB.
const PART_BYTES: usize = 16 << 20;

/// An object being uploaded: one PUT when it fits in a part, else a multipart upload whose
/// parts go as they fill. Dropped unfinished, the upload is aborted: no parts are left behind.
struct S3Writer {
    inner: Arc<AmazonS3>,
    path: ObjectPath,
    location: S3Location,
    rt: tokio::runtime::Handle,
    buffer: Vec<u8>,
    upload: Option<Box<dyn object_store::MultipartUpload>>,
    /// Parts on their way: a few at once, as one waits on the store's round trip.
    sending: std::collections::VecDeque<tokio::task::JoinHandle<object_store::Result<()>>>,
}

/// Parts of one upload in flight at once (16 MiB each: 64 MiB of memory at most).
const PARTS_IN_FLIGHT: usize = 4;

impl S3Writer {
    fn failed(&self, doing: &str, e: object_store::Error) -> std::io::Error {
        super::io_error(store_error(&self.location, doing, &e))
    }

    fn send_part(&mut self, part: Vec<u8>) -> std::io::Result<()> {
        if self.upload.is_none() {
            let started = self.rt.block_on(self.inner.put_multipart(&self.path));
            self.upload = Some(started.map_err(|e| self.failed("starting a multipart upload to", e))?);
        }
        let upload = self.upload.as_mut().expect("started above");
        // The part's number is taken here, in order; it may arrive in any order.
        let part = upload.put_part(PutPayload::from(part));
        self.sending.push_back(self.rt.spawn(part));
        while self.sending.len() >= PARTS_IN_FLIGHT {
            self.wait_for_oldest()?;
        }
        Ok(())
    }

    fn wait_for_oldest(&mut self) -> std::io::Result<()> {
        let Some(oldest) = self.sending.pop_front() else { return Ok(()) };
        match self.rt.block_on(oldest) {
            Ok(sent) => sent.map_err(|e| self.failed("uploading a part to", e)),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

impl std::io::Write for S3Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        while self.buffer.len() >= PART_BYTES {
            let rest = self.buffer.split_off(PART_BYTES);
            let part = std::mem::replace(&mut self.buffer, rest);
            self.send_part(part)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for S3Writer {
    fn finish(mut self: Box<Self>) -> Result<()> {
        while !self.sending.is_empty() {
            self.wait_for_oldest().map_err(|e| super::from_io(e, "uploading a part"))?;
        }
        let last = std::mem::take(&mut self.buffer);
        let Some(mut upload) = self.upload.take() else {
            let put = self.rt.block_on(self.inner.put(&self.path, PutPayload::from(last)));
            return put.map(|_| ()).map_err(|e| store_error(&self.location, "writing", &e));
        };
        let done = async {
            if !last.is_empty() {
                upload.put_part(PutPayload::from(last)).await?;
            }
            upload.complete().await
        };
        match self.rt.block_on(done) {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = self.rt.block_on(upload.abort());
                Err(store_error(&self.location, "completing the upload of", &e))
            }
        }
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        for part in self.sending.drain(..) {
            part.abort();
        }
        if let Some(mut upload) = self.upload.take() {
            let _ = self.rt.block_on(upload.abort());
        }
    }
}

/// `secs`, how long to keep retrying a store that fails (`Patience::retry`). Builds for the
/// test suite (feature `frozen-clock`) take `TIDELINE_S3_RETRY_SECS`, so a test of a store
/// that is down does not wait out the minutes.
fn retry_timeout(secs: u64) -> Duration {
    #[cfg(feature = "frozen-clock")]
    if let Some(secs) = std::env::var("TIDELINE_S3_RETRY_SECS").ok().and_then(|s| s.parse().ok()) {
        return Duration::from_secs(secs);
    }
    Duration::from_secs(secs)
}

/// The error and every cause under it, on one line: S3's own code (NoSuchBucket…) is deep.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// What the store said, as a coded error. S3's error codes are the protocol's, stable across
/// AWS, R2, B2, Garage and MinIO; the hint says what to check.
pub fn store_error(location: &S3Location, doing: &str, e: &object_store::Error) -> Error {
    let detail = chain(e);
    let has = |words: &[&str]| words.iter().any(|w| detail.contains(w));
    let message = format!("{doing} {} failed: {detail}", location.url());
    let denied =
        matches!(e, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. });
    let (code, hint) = if has(&["RequestTimeTooSkewed", "RequestExpired", "Date is too old"]) {
        (ErrorCode::RepositoryClockSkew, "This computer's clock is too far from the storage server's (S3 allows 15 minutes). Turn on time synchronisation (`timedatectl set-ntp true`) and try again.")
    } else if has(&["NoSuchBucket"]) {
        (ErrorCode::RepositoryBucketMissing, "Create the bucket in the provider's console (or `garage bucket create`), or correct the name in s3://BUCKET/PREFIX.")
    } else if has(&[
        "AuthorizationHeaderMalformed",
        "PermanentRedirect",
        "IncorrectRegion",
        "incorrectly configured region",
        "InvalidRegion",
    ]) {
        (ErrorCode::RepositoryRegion, "The bucket lives in another region: give the provider's region with --region (Garage's is `garage`, R2's `auto`).")
    } else if denied
        || has(&[
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "InvalidSignature",
            "403 Forbidden",
            "401 Unauthorized",
        ])
    {
        (ErrorCode::RepositoryCredentials, "Check the access key id and its secret, and that the key may read, write, list and delete in this bucket (the bucket policy in the user guide).")
    } else if has(&[
        "dns error",
        "failed to lookup",
        "Connection refused",
        "tcp connect error",
        "error sending request",
        "timed out",
        "ServiceUnavailable",
        "503 Service Unavailable",
    ]) {
        (ErrorCode::RepositoryUnreachable, "Check the endpoint URL and that this computer reaches it (a self-hosted store may have too few nodes up); with the bucket in the host name (virtual-host addressing) that name must resolve, or use --path-style.")
    } else {
        (
            ErrorCode::RepositoryFailed,
            "The store's own words are above. Run `tideline repo test NAME` for a full check of the repository.",
        )
    };
    Error::new(code, message, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        assert_eq!(S3Location::parse_url("s3://backups").unwrap(), ("backups".into(), "".into()));
        assert_eq!(S3Location::parse_url("s3://backups/team/pg/").unwrap(), ("backups".into(), "team/pg".into()));
        assert_eq!(S3Location::parse_url("backups/x").unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(S3Location::parse_url("s3://ab").unwrap_err().code, ErrorCode::InvalidInput);
    }
}
