//! Where users and passwords live. The service only needs "is this password right, and who
//! is this user": the local table and LDAP answer the same question.

use async_trait::async_trait;

/// A user as the directory describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub username: String,
    pub name: String,
    pub email: String,
    pub department: Option<String>,
    pub title: Option<String>,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Unknown user or wrong password: callers must not learn which.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The directory could not answer (down, timed out): not the user's fault.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Directory: Send + Sync {
    /// Checks the password and returns the user's current attributes.
    async fn authenticate(&self, username: &str, password: &str) -> Result<DirectoryUser, DirectoryError>;

    /// Which implementation this is, for logs.
    fn kind(&self) -> &'static str;
}
