//! The User Service's rules: login with lockout, token issue and rotation, logout, validation.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use contracts::auth::{Claims, ISSUER, TokenKind, TokenVerifier};
use service_core::SigningKeys;
use service_core::storage::Cache;

use crate::directory::{Directory, DirectoryError, DirectoryUser};
use crate::errors::UserError;
use crate::store::{login_attempts, roles_from_column, roles_to_column, users};
use crate::AUDIENCE;

/// Limits from the spec: 5 failures lock for 30 minutes; access 1 hour; refresh 7 days.
#[derive(Debug, Clone)]
pub struct UserSettings {
    pub max_failed_logins: i32,
    pub lockout: Duration,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            max_failed_logins: 5,
            lockout: Duration::from_secs(30 * 60),
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A user as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub department: Option<String>,
    pub title: Option<String>,
    pub roles: Vec<String>,
}

impl From<users::Model> for UserProfile {
    fn from(row: users::Model) -> Self {
        Self {
            user_id: row.user_id,
            username: row.username,
            name: row.name,
            email: row.email,
            department: row.department,
            title: row.title,
            roles: roles_from_column(&row.roles),
        }
    }
}

/// A freshly issued token pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// What a valid access token says.
#[derive(Debug, Clone)]
pub struct ValidatedToken {
    pub claims: Claims,
    pub user: Option<UserProfile>,
}

pub struct UserService {
    db: DatabaseConnection,
    cache: Arc<dyn Cache>,
    directory: Arc<dyn Directory>,
    keys: Arc<SigningKeys>,
    verifier: TokenVerifier,
    settings: UserSettings,
}

/// The cache key holding the live refresh token id of one session.
fn session_key(sid: &str) -> String {
    format!("user:refresh:{sid}")
}

impl UserService {
    pub fn new(
        db: DatabaseConnection,
        cache: Arc<dyn Cache>,
        directory: Arc<dyn Directory>,
        keys: Arc<SigningKeys>,
        settings: UserSettings,
    ) -> Self {
        let verifier = TokenVerifier::new(keys.public_keys());
        Self { db, cache, directory, keys, verifier, settings }
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// Spec flow: directory bind → register on first login → tokens → refresh token in the
    /// cache → last-login time. Failures count toward the lockout; directory outages do not.
    pub async fn login(&self, username: &str, password: &str) -> Result<(TokenPair, UserProfile), UserError> {
        let now = Utc::now();
        if let Some(until) = self.locked_until(username, now).await? {
            return Err(UserError::AccountLocked { until });
        }
        match self.directory.authenticate(username, password).await {
            Ok(entry) => {
                self.clear_failures(username).await?;
                let profile = self.register(&entry, now).await?;
                let pair = self.start_session(&profile).await?;
                tracing::info!(user_id = %profile.user_id, "login succeeded");
                Ok((pair, profile))
            }
            Err(DirectoryError::InvalidCredentials) => {
                let failures = self.record_failure(username, now).await?;
                tracing::info!(failures, "login failed: invalid credentials");
                if failures >= self.settings.max_failed_logins {
                    let until = now + chrono::Duration::from_std(self.settings.lockout).unwrap_or_default();
                    self.lock(username, until).await?;
                    return Err(UserError::AccountLocked { until });
                }
                Err(UserError::AuthenticationFailed)
            }
            Err(DirectoryError::Unavailable(reason)) => {
                tracing::warn!(%reason, directory = self.directory.kind(), "directory unavailable");
                Err(UserError::DirectoryUnavailable)
            }
        }
    }

    /// The lock expiry when the account is locked now. An expired lock starts a new count.
    async fn locked_until(&self, username: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, UserError> {
        let Some(row) = login_attempts::Entity::find_by_id(username.to_owned()).one(&self.db).await? else {
            return Ok(None);
        };
        match row.locked_until {
            Some(until) if until > now => Ok(Some(until)),
            Some(_) => {
                self.clear_failures(username).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Adds one failure atomically (concurrent wrong passwords all count) and returns the total.
    async fn record_failure(&self, username: &str, now: DateTime<Utc>) -> Result<i32, UserError> {
        let row = login_attempts::ActiveModel {
            username: Set(username.to_owned()),
            failed_count: Set(1),
            locked_until: Set(None),
            updated_at: Set(now),
        };
        let counted = login_attempts::Entity::insert(row)
            .on_conflict(
                OnConflict::column(login_attempts::Column::Username)
                    .value(
                        login_attempts::Column::FailedCount,
                        Expr::col((login_attempts::Entity, login_attempts::Column::FailedCount)).add(1),
                    )
                    .update_column(login_attempts::Column::UpdatedAt)
                    .to_owned(),
            )
            .exec_with_returning(&self.db)
            .await?;
        Ok(counted.failed_count)
    }

    async fn lock(&self, username: &str, until: DateTime<Utc>) -> Result<(), UserError> {
        login_attempts::Entity::update_many()
            .col_expr(login_attempts::Column::LockedUntil, Expr::value(until))
            .filter(login_attempts::Column::Username.eq(username))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn clear_failures(&self, username: &str) -> Result<(), UserError> {
        login_attempts::Entity::delete_by_id(username.to_owned()).exec(&self.db).await?;
        Ok(())
    }

    /// Registers a first-time user, or refreshes a known user's attributes from the directory,
    /// and stamps the login time.
    async fn register(&self, entry: &DirectoryUser, now: DateTime<Utc>) -> Result<UserProfile, UserError> {
        let row = users::ActiveModel {
            user_id: Set(entry.username.clone()),
            username: Set(entry.username.clone()),
            name: Set(entry.name.clone()),
            email: Set(entry.email.clone()),
            department: Set(entry.department.clone()),
            title: Set(entry.title.clone()),
            roles: Set(roles_to_column(&entry.roles)),
            last_login_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let saved = users::Entity::insert(row)
            .on_conflict(
                OnConflict::column(users::Column::UserId)
                    .update_columns([
                        users::Column::Name,
                        users::Column::Email,
                        users::Column::Department,
                        users::Column::Title,
                        users::Column::Roles,
                        users::Column::LastLoginAt,
                        users::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_with_returning(&self.db)
            .await?;
        Ok(saved.into())
    }

    pub async fn find_user(&self, user_id: &str) -> Result<Option<UserProfile>, UserError> {
        Ok(users::Entity::find_by_id(user_id.to_owned()).one(&self.db).await?.map(Into::into))
    }

    fn claims(&self, profile: &UserProfile, kind: TokenKind, sid: &str, jti: &str, ttl: Duration) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            iss: ISSUER.to_owned(),
            sub: profile.user_id.clone(),
            aud: AUDIENCE.to_owned(),
            exp: now + ttl.as_secs() as i64,
            nbf: now,
            iat: now,
            jti: jti.to_owned(),
            sid: sid.to_owned(),
            typ: kind,
            username: profile.username.clone(),
            roles: profile.roles.clone(),
        }
    }

    fn issue(&self, profile: &UserProfile, sid: &str, refresh_jti: &str) -> Result<TokenPair, UserError> {
        let sign = |claims: &Claims| self.keys.sign(claims).map_err(|e| UserError::Internal(e.to_string()));
        let access_jti = uuid::Uuid::new_v4().to_string();
        let access = self.claims(profile, TokenKind::Access, sid, &access_jti, self.settings.access_ttl);
        let refresh = self.claims(profile, TokenKind::Refresh, sid, refresh_jti, self.settings.refresh_ttl);
        Ok(TokenPair {
            access_token: sign(&access)?,
            refresh_token: sign(&refresh)?,
            expires_in: self.settings.access_ttl.as_secs() as i64,
        })
    }

    async fn start_session(&self, profile: &UserProfile) -> Result<TokenPair, UserError> {
        let sid = uuid::Uuid::new_v4().to_string();
        let jti = uuid::Uuid::new_v4().to_string();
        let pair = self.issue(profile, &sid, &jti)?;
        self.cache.set(&session_key(&sid), &jti, self.settings.refresh_ttl).await?;
        Ok(pair)
    }

    /// Rotates: the presented refresh token must be the session's current one, and is
    /// replaced atomically, so a used (or stolen and replayed) refresh token fails.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, UserError> {
        let claims = self
            .verifier
            .verify(refresh_token, AUDIENCE, TokenKind::Refresh)
            .map_err(|reason| {
                tracing::info!(%reason, "refresh token refused");
                UserError::InvalidToken
            })?;
        let profile = self.find_user(&claims.sub).await?.ok_or(UserError::InvalidToken)?;
        let new_jti = uuid::Uuid::new_v4().to_string();
        let pair = self.issue(&profile, &claims.sid, &new_jti)?;
        let rotated = self
            .cache
            .compare_and_set(&session_key(&claims.sid), &claims.jti, &new_jti, self.settings.refresh_ttl)
            .await?;
        if !rotated {
            tracing::info!(user_id = %claims.sub, "refresh token reused or session ended");
            return Err(UserError::InvalidToken);
        }
        Ok(pair)
    }

    /// Ends the session of the access token: its refresh token stops working at once.
    pub async fn logout(&self, access: &Claims) -> Result<(), UserError> {
        self.cache.delete(&session_key(&access.sid)).await?;
        tracing::info!(user_id = %access.sub, "logged out");
        Ok(())
    }

    /// A valid access token whose session is still open.
    pub async fn validate(&self, access: Claims, include_user: bool) -> Result<ValidatedToken, UserError> {
        if self.cache.get(&session_key(&access.sid)).await?.is_none() {
            return Err(UserError::InvalidToken);
        }
        let user = if include_user {
            Some(self.find_user(&access.sub).await?.ok_or(UserError::InvalidToken)?)
        } else {
            None
        };
        Ok(ValidatedToken { claims: access, user })
    }
}
