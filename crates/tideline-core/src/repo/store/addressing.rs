//! Path-style (`https://endpoint/bucket/key`) or virtual-host (`https://bucket.endpoint/key`)
//! addressing. Providers differ — AWS wants the bucket in the host name, a self-hosted store
//! usually has no DNS name for it — and the wrong one looks like an unreachable store or a
//! missing bucket. So when the given one fails the other is tried, and kept if it answers.

use super::s3::{Patience, S3Location, S3Store};
use super::Store;
use crate::error::{Error, Result};
use crate::secret::Secret;

impl S3Location {
    /// The endpoint object_store is given. With virtual-host addressing it takes an endpoint
    /// as the bucket's own, so the bucket goes into the host name here (unless it is there).
    pub fn bucket_endpoint(&self) -> Result<Option<String>> {
        match (&self.endpoint, self.path_style) {
            (None, _) => Ok(None),
            (Some(endpoint), true) => Ok(Some(endpoint.clone())),
            (Some(endpoint), false) => {
                let mut url = url::Url::parse(endpoint).map_err(|e| {
                    Error::invalid_input(format!("'{endpoint}' is not a URL: {e}"), "Check the endpoint.")
                })?;
                let host = url.host_str().unwrap_or_default().to_string();
                if !host.starts_with(&format!("{}.", self.bucket)) {
                    url.set_host(Some(&format!("{}.{host}", self.bucket))).map_err(|e| {
                        Error::invalid_input(
                            format!("'{}.{host}' is not a host name: {e}", self.bucket),
                            "Use path-style addressing (--path-style) for this bucket's name.",
                        )
                    })?;
                }
                Ok(Some(url.as_str().trim_end_matches('/').to_string()))
            }
        }
    }

    /// The bucket's own URL, addressed as the repository is.
    pub fn bucket_url(&self) -> Result<url::Url> {
        let text = match (self.bucket_endpoint()?, self.path_style) {
            (Some(endpoint), true) => format!("{}/{}", endpoint.trim_end_matches('/'), self.bucket),
            (Some(endpoint), false) => endpoint,
            (None, true) => format!("https://s3.{}.amazonaws.com/{}", self.region, self.bucket),
            (None, false) => format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region),
        };
        url::Url::parse(&text).map_err(|e| Error::internal(format!("the bucket's URL {text}: {e}")))
    }

    /// "path-style" or "virtual-host", with what it means.
    pub fn addressing(&self) -> &'static str {
        if self.path_style {
            "path-style addressing (the bucket in the path)"
        } else {
            "virtual-host addressing (the bucket in the host name)"
        }
    }
}

/// A store that answered, and whether that took the other addressing than the one given.
pub struct Reached {
    pub store: S3Store,
    pub switched: bool,
}

/// Opens the bucket and lists a little of it; when that fails, tries the other addressing,
/// and when that fails too, gives the first error (what the user asked for failed).
pub async fn reach(location: &S3Location, access_key_id: &str, secret: &Secret) -> Result<Reached> {
    // An endpoint that is an IP address has no host name to put the bucket in: the open fails.
    let first = match S3Store::open(location, access_key_id, secret, Patience::Probe) {
        Ok(given) => match given.list(".tideline-probe/").await {
            Ok(_) => return Ok(Reached { store: given, switched: false }),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let other = S3Location { path_style: !location.path_style, ..location.clone() };
    let Ok(store) = S3Store::open(&other, access_key_id, secret, Patience::Probe) else { return Err(first) };
    match store.list(".tideline-probe/").await {
        Ok(_) => {
            tracing::info!(bucket = %location.bucket, addressing = other.addressing(), "the store answers the other addressing");
            Ok(Reached { store, switched: true })
        }
        Err(_) => Err(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(endpoint: Option<&str>, path_style: bool) -> S3Location {
        S3Location {
            bucket: "backups".into(),
            prefix: "team".into(),
            endpoint: endpoint.map(String::from),
            region: "us-west-004".into(),
            path_style,
        }
    }

    #[test]
    fn virtual_host_addressing_puts_the_bucket_in_the_endpoints_host_name() {
        let b2 = at(Some("https://s3.us-west-004.backblazeb2.com"), false);
        assert_eq!(b2.bucket_endpoint().unwrap().unwrap(), "https://backups.s3.us-west-004.backblazeb2.com");
        assert_eq!(b2.bucket_url().unwrap().as_str(), "https://backups.s3.us-west-004.backblazeb2.com/");
        let given_whole = at(Some("https://backups.s3.example.com:8443"), false);
        assert_eq!(given_whole.bucket_endpoint().unwrap().unwrap(), "https://backups.s3.example.com:8443");
        let garage = at(Some("http://127.0.0.1:3900"), true);
        assert_eq!(garage.bucket_endpoint().unwrap().unwrap(), "http://127.0.0.1:3900");
        assert_eq!(garage.bucket_url().unwrap().as_str(), "http://127.0.0.1:3900/backups");
        assert_eq!(at(None, false).bucket_url().unwrap().as_str(), "https://backups.s3.us-west-004.amazonaws.com/");
    }
}
