use serde::{Deserialize, Serialize};

/// Access tokens authorize calls; refresh tokens only buy new access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The claims of every token. `sid` ties an access token to its refresh session, so logout
/// can end exactly that session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub sid: String,
    pub typ: TokenKind,
    pub username: String,
    #[serde(default)]
    pub roles: Vec<String>,
}
