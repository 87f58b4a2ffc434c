//! Ticketing's own accounts: register (argon2id), login (Ed25519 access token with
//! Ticketing's audience), the current user, and the seeded admin and customer.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use contracts::auth::{Claims, ISSUER, TokenKind};

use crate::errors::TicketingError;
use crate::ids::new_id;
use crate::service::Ticketing;
use crate::store::users;

pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub name: String,
    pub phone_number: Option<String>,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    pub user: users::Model,
}

fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|e| e.to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Hashing is CPU-bound: off the async workers.
async fn hash_blocking(password: String) -> Result<String, TicketingError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| TicketingError::Internal(e.to_string()))?
        .map_err(TicketingError::Internal)
}

/// A plausible address: one `@`, a local part, a dotted domain, no spaces.
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
        && text.len() <= 254
}

pub(crate) fn validate_new_account(account: &NewAccount) -> Result<(), TicketingError> {
    if !is_email(&account.email) {
        return Err(TicketingError::unprocessable("email", "Email format is invalid"));
    }
    if account.password.chars().count() < 8 || account.password.len() > 128 {
        return Err(TicketingError::unprocessable("password", "Password must be 8 to 128 characters"));
    }
    let name = account.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(TicketingError::unprocessable("name", "Name must be 1 to 100 characters"));
    }
    if let Some(phone) = &account.phone_number {
        let valid = !phone.is_empty()
            && phone.len() <= 20
            && phone.chars().all(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == ' ');
        if !valid {
            return Err(TicketingError::unprocessable("phone_number", "Phone number format is invalid"));
        }
    }
    Ok(())
}

impl Ticketing {
    pub async fn register(&self, account: NewAccount) -> Result<users::Model, TicketingError> {
        let account = NewAccount { email: account.email.trim().to_lowercase(), ..account };
        validate_new_account(&account)?;
        self.create_account(account, "customer").await
    }

    async fn create_account(&self, account: NewAccount, role: &str) -> Result<users::Model, TicketingError> {
        if users::Entity::find().filter(users::Column::Email.eq(&account.email)).one(&self.db).await?.is_some() {
            return Err(TicketingError::EmailTaken);
        }
        let row = users::ActiveModel {
            user_id: Set(new_id("usr")),
            email: Set(account.email),
            password_hash: Set(hash_blocking(account.password).await?),
            name: Set(account.name.trim().to_owned()),
            phone_number: Set(account.phone_number),
            role: Set(role.to_owned()),
            created_at: Set(Utc::now()),
        };
        // The unique index decides a race between two registrations of one address.
        match users::Entity::insert(row).exec_with_returning(&self.db).await {
            Ok(user) => {
                tracing::info!(user_id = %user.user_id, role, "ticketing account registered");
                Ok(user)
            }
            Err(error) if is_unique_violation(&error) => Err(TicketingError::EmailTaken),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<IssuedToken, TicketingError> {
        let email = email.trim().to_lowercase();
        let user = users::Entity::find().filter(users::Column::Email.eq(&email)).one(&self.db).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_owned();
        // Verify against a dummy hash for unknown users too, so both failures cost the same.
        let verified = tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _ = hash_password(&password);
                false
            }
        })
        .await
        .map_err(|e| TicketingError::Internal(e.to_string()))?;
        let Some(user) = user.filter(|_| verified) else {
            return Err(TicketingError::Unauthorized("invalid email or password".into()));
        };
        let now = Utc::now().timestamp();
        let ttl = self.settings.access_ttl.as_secs() as i64;
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: user.user_id.clone(),
            aud: crate::AUDIENCE.to_owned(),
            exp: now + ttl,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: uuid::Uuid::new_v4().to_string(),
            typ: TokenKind::Access,
            username: user.email.clone(),
            roles: vec![user.role.clone()],
        };
        let access_token = self.keys.sign(&claims).map_err(|e| TicketingError::Internal(e.to_string()))?;
        Ok(IssuedToken { access_token, expires_in: ttl, user })
    }

    pub async fn current_user(&self, claims: &Claims) -> Result<users::Model, TicketingError> {
        users::Entity::find_by_id(claims.sub.clone())
            .one(&self.db)
            .await?
            .ok_or_else(|| TicketingError::Unauthorized("the token's user no longer exists".into()))
    }

    /// Seeds one admin and one customer into an empty embedded user table.
    pub async fn seed_if_empty(&self) -> Result<(), TicketingError> {
        if users::Entity::find().count(&self.db).await? > 0 {
            return Ok(());
        }
        let seeds = [
            (crate::SEED_ADMIN_EMAIL, crate::SEED_ADMIN_PASSWORD, "관리자", "admin"),
            (crate::SEED_CUSTOMER_EMAIL, crate::SEED_CUSTOMER_PASSWORD, "홍길동", "customer"),
        ];
        for (email, password, name, role) in seeds {
            let account = NewAccount {
                email: email.into(),
                password: password.into(),
                name: name.into(),
                phone_number: None,
            };
            match self.create_account(account, role).await {
                Ok(_) | Err(TicketingError::EmailTaken) => {}
                Err(error) => return Err(error),
            }
        }
        tracing::info!(admin = crate::SEED_ADMIN_EMAIL, customer = crate::SEED_CUSTOMER_EMAIL, "seeded ticketing accounts");
        Ok(())
    }
}

pub(crate) fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(is_email("user@example.com"));
        for bad in ["", "user", "user@", "@example.com", "user@example", "a b@example.com", "a@b@c.com"] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn argon2id_hashes_verify_only_their_password() {
        let hash = hash_password("securePassword123!").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("securePassword123!", &hash));
        assert!(!verify_password("wrong", &hash));
    }
}
