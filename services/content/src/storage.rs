//! Where images live: objects addressed by key, each with a public URL. The local default
//! writes files under `<data dir>/cdn/` that the platform serves over HTTP at `/cdn/<key>`;
//! production would put an S3-compatible or Azure Blob store behind the same trait.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
#[error("object storage: {0}")]
pub struct StorageError(pub String);

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores the bytes under `key` (overwriting) and returns the object's public URL.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<String, StorageError>;
    /// The public URL of a key (whether or not it exists).
    fn url(&self, key: &str) -> String;
    fn kind(&self) -> &'static str;
}

/// Files under a directory, served by the platform's `/cdn` listener.
pub struct LocalStore {
    root: PathBuf,
    public_base_url: String,
}

impl LocalStore {
    /// `root` is the directory served at `/cdn`; `public_base_url` is what clients reach it
    /// by (e.g. `http://localhost:8090`), without the `/cdn` suffix.
    pub fn new(root: PathBuf, public_base_url: &str) -> Self {
        Self { root, public_base_url: public_base_url.trim_end_matches('/').to_owned() }
    }
}

/// Keys are relative paths of plain segments: nothing can escape the root.
pub fn safe_relative(key: &str) -> Option<PathBuf> {
    let path = Path::new(key);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !key.is_empty()).then(|| path.to_path_buf())
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<String, StorageError> {
        let relative = safe_relative(key).ok_or_else(|| StorageError(format!("bad key {key:?}")))?;
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| StorageError(e.to_string()))?;
        }
        // Write then rename: a reader never sees half a PNG.
        let temporary = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&temporary, bytes).await.map_err(|e| StorageError(e.to_string()))?;
        tokio::fs::rename(&temporary, &path).await.map_err(|e| StorageError(e.to_string()))?;
        Ok(self.url(key))
    }

    fn url(&self, key: &str) -> String {
        format!("{}/cdn/{key}", self.public_base_url)
    }

    fn kind(&self) -> &'static str {
        "local files (served at /cdn)"
    }
}

#[cfg(test)]
mod tests {
    use super::safe_relative;

    #[test]
    fn keys_cannot_escape() {
        assert!(safe_relative("images/a/b.png").is_some());
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("").is_none());
    }
}
