//! Multipart uploads a stopped run left in the bucket. S3 keeps their parts, stored and
//! billed, until each is completed or aborted; a run that dies (SIGKILL, power) cannot abort
//! its own. object_store starts, completes and aborts uploads, but cannot list anyone else's:
//! these two requests (ListMultipartUploads, AbortMultipartUpload) are signed with
//! object_store's own SigV4 signer and sent with reqwest.

use super::s3::S3Store;
use crate::error::{Error, ErrorCode, Result};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpRequest, HttpRequestBody};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An upload begun and never completed or aborted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UnfinishedUpload {
    /// The object's key in the bucket (with the repository's prefix).
    pub key: String,
    pub upload_id: String,
    /// When it began, as the store says (RFC 3339).
    pub initiated: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPage {
    #[serde(default, rename = "Upload")]
    uploads: Vec<Listed>,
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Listed {
    key: String,
    upload_id: String,
    initiated: String,
}

impl S3Store {
    /// The unfinished multipart uploads under this repository's prefix, oldest first.
    pub async fn unfinished_uploads(&self) -> Result<Vec<UnfinishedUpload>> {
        let prefix = match self.location().prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let mut found = Vec::new();
        let mut after: Option<(String, String)> = None;
        loop {
            let mut query = vec![("uploads", String::new()), ("prefix", prefix.clone())];
            if let Some((key, id)) = &after {
                query.extend([("key-marker", key.clone()), ("upload-id-marker", id.clone())]);
            }
            let body = self.signed(reqwest::Method::GET, None, &query).await?;
            let page: ListPage = quick_xml::de::from_str(&body).map_err(|e| {
                Error::new(
                    ErrorCode::RepositoryFailed,
                    format!("{} answered the list of unfinished uploads with something else: {e}", self.location().url()),
                    "The store may not support listing multipart uploads; remove them with its own tools or a lifecycle rule.",
                )
            })?;
            found.extend(page.uploads.into_iter().map(|u| UnfinishedUpload {
                key: u.key,
                upload_id: u.upload_id,
                initiated: u.initiated,
            }));
            match (page.is_truncated, page.next_key_marker, page.next_upload_id_marker) {
                (true, Some(key), Some(id)) => after = Some((key, id)),
                _ => break,
            }
        }
        found.sort_by(|a, b| a.initiated.cmp(&b.initiated));
        Ok(found)
    }

    /// Aborts one: its parts are deleted.
    pub async fn abort_upload(&self, upload: &UnfinishedUpload) -> Result<()> {
        self.signed(reqwest::Method::DELETE, Some(&upload.key), &[("uploadId", upload.upload_id.clone())]).await?;
        Ok(())
    }

    /// Whether the bucket keeps old versions of what is deleted or replaced, and whether
    /// Object Lock is on: (versioning status, object lock status), None where the store would
    /// not say.
    pub async fn versioning(&self) -> (Option<String>, Option<String>) {
        let versioning = self.request(reqwest::Method::GET, None, &[("versioning", String::new())]).await;
        let versioning = match versioning {
            Ok((200, body)) => Some(element(&body, "Status").unwrap_or_else(|| "never enabled".into())),
            _ => None,
        };
        let lock = match self.request(reqwest::Method::GET, None, &[("object-lock", String::new())]).await {
            Ok((200, body)) => Some(element(&body, "ObjectLockEnabled").unwrap_or_else(|| "not enabled".into())),
            Ok((404, body)) if body.contains("ObjectLockConfigurationNotFound") => Some("not enabled".into()),
            // Garage, among others, has no Object Lock at all.
            Ok((501, _)) => Some("not supported by the store".into()),
            _ => None,
        };
        (versioning, lock)
    }

    /// One request to the bucket (`key` None) or an object, signed; its body on success.
    async fn signed(&self, method: reqwest::Method, key: Option<&str>, query: &[(&str, String)]) -> Result<String> {
        let (status, body) = self.request(method, key, query).await?;
        if !(200..300).contains(&status) {
            return Err(Error::new(
                ErrorCode::RepositoryFailed,
                format!("{} answered {status}: {}", self.location().url(), body.chars().take(300).collect::<String>()),
                "The access key needs s3:ListBucketMultipartUploads and s3:AbortMultipartUpload on the bucket.",
            ));
        }
        Ok(body)
    }

    /// One signed request; its status and body.
    async fn request(
        &self,
        method: reqwest::Method,
        key: Option<&str>,
        query: &[(&str, String)],
    ) -> Result<(u16, String)> {
        let mut url = self.location().bucket_url()?;
        if let Some(key) = key {
            let mut path = url.path_segments_mut().map_err(|()| Error::internal("a bucket URL without a path"))?;
            path.pop_if_empty().extend(key.split('/'));
        }
        url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        let credential = AwsCredential {
            key_id: self.access_key_id().to_string(),
            secret_key: self.secret().expose().to_string(),
            token: None,
        };
        let mut request: HttpRequest = http::Request::builder()
            .method(method.as_str())
            .uri(url.as_str())
            .body(HttpRequestBody::empty())
            .map_err(|e| Error::internal(format!("building a request: {e}")))?;
        AwsAuthorizer::new(&credential, "s3", &self.location().region)
            .try_authorize(&mut request, None)
            .map_err(|e| Error::internal(format!("signing a request: {e}")))?;
        let mut sending = reqwest::Client::new().request(method, url.as_str());
        for (name, value) in request.headers() {
            sending = sending.header(name.as_str(), value.as_bytes());
        }
        let unreachable = |e: reqwest::Error| {
            Error::new(
                ErrorCode::RepositoryUnreachable,
                format!("asking {}: {e}", self.location().url()),
                "Check the endpoint and the network; `repo test` says more.",
            )
        };
        let response = sending.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.map_err(unreachable)?))
    }
}

/// The text of the first `<name>` element of a small XML answer.
fn element(xml: &str, name: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) => inside = e.local_name().as_ref() == name.as_bytes(),
            quick_xml::events::Event::Text(t) if inside => return t.decode().ok().map(|t| t.trim().to_string()),
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// What `repo clean` did.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct CleanReport {
    pub repository: String,
    pub aborted: Vec<UnfinishedUpload>,
    /// Begun too recently to be a stopped run's: left alone.
    pub left: Vec<UnfinishedUpload>,
}

impl crate::engine::Engine {
    /// `repo clean NAME`: aborts the unfinished multipart uploads begun more than
    /// `older_than_minutes` ago. A younger one may be another run's, still going.
    pub async fn clean_repository(&self, name: &str, older_than_minutes: u32) -> Result<CleanReport> {
        let record = self.named_repository(name)?;
        let crate::catalog::repositories::RepositoryPlace::S3 { location, access_key_id } = &record.place else {
            return Ok(CleanReport { repository: record.name, aborted: vec![], left: vec![] });
        };
        let secret = self.bucket_secret(&record)?;
        let store = S3Store::open(location, access_key_id, &secret, super::s3::Patience::Job)?;
        let cutoff =
            self.clock.now().with_timezone(&chrono::Utc) - chrono::Duration::minutes(older_than_minutes.into());
        let (mut aborted, mut left) = (Vec::new(), Vec::new());
        for upload in store.unfinished_uploads().await? {
            let begun = chrono::DateTime::parse_from_rfc3339(&upload.initiated).map(|t| t.with_timezone(&chrono::Utc));
            if begun.is_ok_and(|t| t <= cutoff) {
                store.abort_upload(&upload).await?;
                tracing::info!(repository = %record.name, key = %upload.key, "aborted an unfinished upload");
                aborted.push(upload);
            } else {
                left.push(upload);
            }
        }
        Ok(CleanReport { repository: record.name, aborted, left })
    }
}

/// How old an upload must be before `repo clean` aborts it unless told otherwise: a younger
/// one may be another run's, still going.
pub const CLEAN_AFTER_MINUTES: u32 = 60;

/// How long an upload must have been left before retention aborts it: a day, far longer than
/// any backup or segment takes to go up.
pub const STALE_UPLOAD_MINUTES: u32 = 24 * 60;

impl crate::engine::Engine {
    /// Aborts the uploads a stopped run left, a day or more ago, in the repositories `profile`
    /// keeps its backups in (the keys aborted). Run by retention, so a bucket a killed run
    /// left parts in does not keep paying for them. What fails is logged and left for the
    /// next run: nothing of the profile's depends on it.
    pub(crate) fn abort_stale_uploads(&self, profile: &str) -> Vec<String> {
        let kept = [self.profile_repository(profile), self.second_repository(profile)];
        let mut aborted = Vec::new();
        for repository in kept.into_iter().filter_map(|r| r.ok().flatten()) {
            let cleaned =
                super::blocking(|rt| rt.block_on(self.clean_repository(&repository.name, STALE_UPLOAD_MINUTES)));
            match cleaned {
                Some(Ok(report)) => aborted.extend(report.aborted.into_iter().map(|u| u.key)),
                Some(Err(e)) => {
                    tracing::warn!(repository = %repository.name, error = %e, "unfinished uploads not cleaned")
                }
                None => {}
            }
        }
        aborted
    }
}
