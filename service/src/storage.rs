//! The object store that holds file bytes (seed 002's storage bucket): a local directory by
//! default, any S3-compatible store when `ATLAS_STORAGE_URL=s3://bucket`. Object keys live under
//! `tenants/{tenant_id}/`, so every key names its tenant and a sweeper can check it against that
//! tenant's rows. Metadata stays in Postgres; this module never touches the database.
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::error::{Result, ServiceError};

/// How many leading bytes are kept to recognise a file's type.
const SNIFF_BYTES: usize = 8192;

pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Set for S3-compatible stores, which presign their own download URLs.
    signer: Option<Arc<dyn Signer>>,
    url: String,
}

/// What was written: the size, the SHA-256 and the first bytes (for content sniffing).
#[derive(Debug, Clone)]
pub struct Stored {
    pub key: String,
    pub size: i64,
    pub sha256: String,
    pub head: Vec<u8>,
}

/// The store's own error names keys, paths and endpoints: it goes to the log, the client hears
/// only that the store did not answer.
fn unavailable(e: object_store::Error) -> ServiceError {
    tracing::warn!(error = %e, "object store error");
    ServiceError::Unavailable("the file store did not answer; try again later".into())
}

fn refused_upload(e: std::io::Error) -> ServiceError {
    tracing::warn!(error = %e, "object store refused an upload");
    ServiceError::Unavailable("the file store did not accept the upload; try again later".into())
}

impl Storage {
    /// `s3://bucket[/prefix]` (credentials, region and `AWS_ENDPOINT` from the standard AWS
    /// variables), or a directory (`file:///path` or a plain path), created when missing.
    pub fn open(url: &str) -> std::result::Result<Self, String> {
        if url.starts_with("s3://") {
            let s3 = AmazonS3Builder::from_env()
                .with_url(url)
                .build()
                .map_err(|e| format!("ATLAS_STORAGE_URL={url}: {e}"))?;
            let s3 = Arc::new(s3);
            return Ok(Self { store: s3.clone(), signer: Some(s3), url: url.to_string() });
        }
        let dir = url.strip_prefix("file://").unwrap_or(url);
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the storage directory {dir}: {e}"))?;
        let local = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("ATLAS_STORAGE_URL={url}: {e}"))?
            .with_automatic_cleanup(true);
        Ok(Self { store: Arc::new(local), signer: None, url: url.to_string() })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether downloads go through Atlas's own signed `/files/{token}` route.
    pub fn is_local(&self) -> bool {
        self.signer.is_none()
    }

    /// A fresh key for one stored object (a version of a file); never reused, so versions never
    /// overwrite one another.
    pub fn new_key(tenant: Uuid) -> String {
        format!("tenants/{tenant}/objects/{}", Uuid::now_v7())
    }

    /// The store path of `key`, refused unless it lies under `tenants/{tenant}/`. Every object
    /// access names the tenant it acts for, so a key that came from anywhere (a job input, a
    /// token, a row) can never reach another tenant's bytes; `Path::parse` also refuses `..`,
    /// empty and `.` segments, so the prefix test cannot be walked around.
    fn path(tenant: Uuid, key: &str) -> Result<Path> {
        let refused = || {
            tracing::warn!(%tenant, key, "refused an object key outside the tenant's prefix");
            ServiceError::Forbidden("that stored object does not belong to this tenant".into())
        };
        let path = Path::parse(key).map_err(|_| refused())?;
        let mut parts = path.parts();
        let (Some(a), Some(b), Some(_)) = (parts.next(), parts.next(), parts.next()) else { return Err(refused()) };
        if a.as_ref() != "tenants" || b.as_ref() != tenant.to_string() {
            return Err(refused());
        }
        Ok(path)
    }

    /// Stream `reader` into `key`, hashing as it goes; at most `limit` bytes (more is refused and
    /// nothing is kept). Large objects go up as multipart uploads, so memory stays bounded.
    pub async fn put_stream<R: AsyncRead + Unpin>(
        &self,
        tenant: Uuid,
        key: &str,
        mut reader: R,
        limit: u64,
    ) -> Result<Stored> {
        let mut writer = BufWriter::with_capacity(self.store.clone(), Self::path(tenant, key)?, 8 << 20);
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 256 * 1024];
        let failed = loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) => {
                    tracing::info!(error = %e, "an upload broke off");
                    break Some(ServiceError::bad_input("file", "the upload broke off before its end"));
                }
            };
            size += n as u64;
            if size > limit {
                break Some(ServiceError::bad_input("file", format!("the file is larger than {limit} bytes")));
            }
            hasher.update(&buf[..n]);
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(n);
                head.extend_from_slice(&buf[..take]);
            }
            if let Err(e) = writer.write_all(&buf[..n]).await {
                break Some(refused_upload(e));
            }
        };
        if let Some(err) = failed {
            let _ = writer.abort().await;
            return Err(err);
        }
        writer.shutdown().await.map_err(refused_upload)?;
        Ok(Stored { key: key.to_string(), size: size as i64, sha256: hex::encode(hasher.finalize()), head })
    }

    /// Store bytes already in memory (small generated objects).
    pub async fn put_bytes(&self, tenant: Uuid, key: &str, bytes: Bytes) -> Result<()> {
        self.store.put(&Self::path(tenant, key)?, bytes.into()).await.map_err(unavailable)?;
        Ok(())
    }

    /// The object's bytes as a stream, chunk by chunk.
    pub async fn stream(&self, tenant: Uuid, key: &str) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let got = self.store.get(&Self::path(tenant, key)?).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => ServiceError::not_found("stored object", key),
            e => unavailable(e),
        })?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// Bytes `range` of the object (all of it when None), as a stream.
    pub async fn stream_range(
        &self,
        tenant: Uuid,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let opts = object_store::GetOptions { range: range.map(Into::into), ..Default::default() };
        let got = self.store.get_opts(&Self::path(tenant, key)?, opts).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => ServiceError::not_found("stored object", key),
            e => unavailable(e),
        })?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// The object as an `AsyncRead`.
    pub async fn reader(&self, tenant: Uuid, key: &str) -> Result<impl AsyncRead + Send + Unpin + 'static> {
        Ok(tokio_util::io::StreamReader::new(self.stream(tenant, key).await?))
    }

    pub async fn size(&self, tenant: Uuid, key: &str) -> Result<u64> {
        match self.store.head(&Self::path(tenant, key)?).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(ServiceError::not_found("stored object", key)),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Remove an object; one that is already gone counts as removed.
    pub async fn delete(&self, tenant: Uuid, key: &str) -> Result<()> {
        match self.store.delete(&Self::path(tenant, key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The tenant's keys under `tenants/{tenant}/{under}` with their last-modified time (for the
    /// sweeper).
    pub async fn list(&self, tenant: Uuid, under: &str) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        let prefix = Self::path(tenant, &format!("tenants/{tenant}/{under}"))?;
        self.store
            .list(Some(&prefix))
            .map_ok(|m| (m.location.to_string(), m.last_modified))
            .try_collect()
            .await
            .map_err(unavailable)
    }

    /// A presigned GET URL, for stores that sign their own (S3-compatible).
    pub async fn presigned_url(&self, tenant: Uuid, key: &str, expires: Duration) -> Result<Option<String>> {
        let Some(signer) = &self.signer else { return Ok(None) };
        let url = signer
            .signed_url(object_store::signer::Method::GET, &Self::path(tenant, key)?, expires)
            .await
            .map_err(unavailable)?;
        Ok(Some(url.to_string()))
    }

    /// Write, read back and remove a probe object: whether the store answers.
    pub async fn check(&self) -> Result<()> {
        // Outside every tenant's prefix, so it goes to the store directly.
        let path = Path::from(format!("health/{}", Uuid::now_v7()));
        self.store.put(&path, Bytes::from_static(b"ok").into()).await.map_err(unavailable)?;
        let back = self.store.get(&path).await.map_err(unavailable)?.bytes().await;
        let _ = self.store.delete(&path).await;
        match back {
            Ok(b) if b.as_ref() == b"ok" => Ok(()),
            Ok(_) => Err(ServiceError::Unavailable("the file store returned other bytes than written".into())),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The content type to record: the one the bytes show when they show one (a declared type that
/// contradicts them is refused), else the declared one, else a guess from the file name.
pub fn content_type(declared: Option<&str>, name: &str, head: &[u8]) -> Result<String> {
    let declared = declared.map(|d| d.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let declared = declared.filter(|d| !d.is_empty() && d != "application/octet-stream");
    if let Some(kind) = infer::get(head) {
        let sniffed = kind.mime_type();
        if let Some(d) = &declared {
            // Text-based containers (e.g. SVG, JSON) are not sniffed as a clash.
            if d != sniffed && !d.starts_with("text/") {
                return Err(ServiceError::bad_input(
                    "file",
                    format!("the file was declared as {d} but its bytes are {sniffed}"),
                ));
            }
        }
        return Ok(sniffed.to_string());
    }
    if let Some(d) = declared {
        if binary_type(&d) {
            return Err(ServiceError::bad_input("file", format!("the file was declared as {d} but its bytes are not")));
        }
        return Ok(d);
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let guess = match ext.as_str() {
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "txt" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "rs" | "py" | "ts" | "js" | "go" | "java" | "c" | "h" | "sql" | "sh" | "toml" => "text/plain",
        _ if std::str::from_utf8(head).is_ok() && !head.is_empty() => "text/plain",
        _ => "application/octet-stream",
    };
    Ok(guess.to_string())
}

/// Types whose files always carry a recognisable signature.
fn binary_type(mime: &str) -> bool {
    matches!(
        mime,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "application/pdf"
            | "application/zip"
            | "application/gzip"
            | "video/mp4"
            | "audio/mpeg"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_follows_the_bytes() {
        let pdf = b"%PDF-1.7\n";
        assert_eq!(content_type(None, "x.bin", pdf).ok().as_deref(), Some("application/pdf"));
        assert!(content_type(Some("image/png"), "x.png", pdf).is_err());
        assert!(content_type(Some("application/pdf"), "x.pdf", b"hello").is_err());
        assert_eq!(content_type(None, "data.csv", b"a,b\n1,2\n").ok().as_deref(), Some("text/csv"));
        assert_eq!(content_type(Some("text/csv; charset=utf-8"), "d", b"a,b").ok().as_deref(), Some("text/csv"));
    }

    #[test]
    fn keys_stay_inside_their_tenant() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(Storage::path(a, &Storage::new_key(a)).is_ok());
        assert!(Storage::path(a, &Storage::new_key(b)).is_err());
        assert!(Storage::path(a, &format!("tenants/{a}/../{b}/objects/x")).is_err());
        assert!(Storage::path(a, &format!("tenants/{a}")).is_err());
        assert!(Storage::path(a, &format!("tenants/{a}x/objects/y")).is_err());
        assert!(Storage::path(a, "health/x").is_err());
    }
}
