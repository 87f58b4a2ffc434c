//! The User Service's signing keys. The newest key signs; every key in the set still
//! verifies, so rotating in a new key never invalidates tokens already issued.
//!
//! On disk: one PKCS#8 PEM per key under a directory, named `<kid>.pem`; the key id starts
//! with a UTC timestamp so the newest sorts last. Embedded mode generates the first key there;
//! production mounts the directory from a secret.

use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use contracts::auth::{Claims, PublicKeys};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("key file {path}: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("no signing key in {0}")]
    Empty(PathBuf),
    #[error("signing: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

struct Key {
    kid: String,
    signing: SigningKey,
}

/// The private keys (User Service only).
pub struct SigningKeys {
    keys: Vec<Key>,
    encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        let kids: Vec<_> = self.keys.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("SigningKeys").field("kids", &kids).finish()
    }
}

fn new_kid() -> String {
    let suffix: u32 = rand::random();
    // Microseconds first, so the newest key sorts last even when two are made in one second.
    format!("{}-{suffix:08x}", chrono::Utc::now().format("%Y%m%dT%H%M%S%6fZ"))
}

impl SigningKeys {
    /// Loads every `*.pem` key in `dir`; with `generate_if_empty`, creates the first key.
    pub fn load_dir(dir: &Path, generate_if_empty: bool) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "pem"))
            .collect();
        if files.is_empty() && generate_if_empty {
            files.push(Self::generate_into(dir)?);
        }
        files.sort();
        let mut keys = Vec::new();
        for path in files {
            let bad = |reason: String| KeyError::BadKey { path: path.clone(), reason };
            let pem = std::fs::read_to_string(&path).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| bad(e.to_string()))?;
            let kid = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .ok_or_else(|| bad("file name is not UTF-8".into()))?
                .to_owned();
            keys.push(Key { kid, signing });
        }
        Self::from_keys(keys).ok_or_else(|| KeyError::Empty(dir.to_owned()))
    }

    /// Writes a new key into `dir`; it signs from the next load on.
    pub fn generate_into(dir: &Path) -> Result<PathBuf, KeyError> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let path = dir.join(format!("{}.pem", new_kid()));
        let bad = |reason: String| KeyError::BadKey { path: path.clone(), reason };
        let pem = signing.to_pkcs8_pem(LineEnding::LF).map_err(|e| bad(e.to_string()))?;
        write_private(&path, pem.as_bytes())
            .map_err(|source| KeyError::Io { path: path.clone(), source })?;
        Ok(path)
    }

    /// A single in-memory key (tests).
    pub fn ephemeral() -> Self {
        let key = Key { kid: new_kid(), signing: SigningKey::generate(&mut rand::rngs::OsRng) };
        // A freshly generated key always encodes.
        Self::from_keys(vec![key]).unwrap_or_else(|| unreachable!("one key"))
    }

    fn from_keys(keys: Vec<Key>) -> Option<Self> {
        let newest = keys.last()?;
        let der = newest.signing.to_pkcs8_der().ok()?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        Some(Self { keys, encoding })
    }

    /// The key id that signs new tokens.
    pub fn current_kid(&self) -> &str {
        self.keys.last().map(|key| key.kid.as_str()).unwrap_or_default()
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.current_kid().to_owned());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }

    /// Every public key, newest last.
    pub fn public_keys(&self) -> PublicKeys {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        PublicKeys::from_components(self.keys.iter().map(|key| {
            (key.kid.clone(), engine.encode(key.signing.verifying_key().as_bytes()))
        }))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
