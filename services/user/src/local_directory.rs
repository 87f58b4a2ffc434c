//! The embedded directory: a table of users with argon2id password hashes. It stands in for
//! LDAP on a laptop and in tests, behind the same `Directory` trait.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use async_trait::async_trait;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::directory::{Directory, DirectoryError, DirectoryUser};
use crate::store::{local_directory, roles_from_column, roles_to_column};

/// The spec's example user, seeded into an empty embedded directory.
pub const SEED_USERNAME: &str = "user001";
pub const SEED_PASSWORD: &str = "P@ssw0rd123!";

pub struct LocalDirectory {
    db: DatabaseConnection,
    /// Verified against when the user does not exist, so both failures take the same time.
    dummy_hash: String,
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

impl LocalDirectory {
    pub async fn new(db: DatabaseConnection) -> Result<Self, DirectoryError> {
        let dummy_hash = tokio::task::spawn_blocking(|| hash_password("not-a-real-password"))
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?
            .map_err(DirectoryError::Unavailable)?;
        Ok(Self { db, dummy_hash })
    }

    /// Adds or replaces a user (seeding, administration, tests).
    pub async fn put_user(&self, user: &DirectoryUser, password: &str) -> Result<(), DirectoryError> {
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?
            .map_err(DirectoryError::Unavailable)?;
        let row = local_directory::ActiveModel {
            username: Set(user.username.clone()),
            password_hash: Set(hash),
            name: Set(user.name.clone()),
            email: Set(user.email.clone()),
            department: Set(user.department.clone()),
            title: Set(user.title.clone()),
            roles: Set(roles_to_column(&user.roles)),
        };
        local_directory::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(local_directory::Column::Username)
                    .update_columns([
                        local_directory::Column::PasswordHash,
                        local_directory::Column::Name,
                        local_directory::Column::Email,
                        local_directory::Column::Department,
                        local_directory::Column::Title,
                        local_directory::Column::Roles,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        Ok(())
    }

    /// Seeds the spec's example user when the directory is empty.
    pub async fn seed_if_empty(&self) -> Result<(), DirectoryError> {
        let count = local_directory::Entity::find()
            .count(&self.db)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        if count > 0 {
            return Ok(());
        }
        let user = DirectoryUser {
            username: SEED_USERNAME.into(),
            name: "홍길동".into(),
            email: "hong@company.com".into(),
            department: Some("개발팀".into()),
            title: Some("선임".into()),
            roles: vec!["USER".into()],
        };
        self.put_user(&user, SEED_PASSWORD).await?;
        tracing::info!(username = SEED_USERNAME, "seeded the embedded directory with the spec's example user");
        Ok(())
    }
}

#[async_trait]
impl Directory for LocalDirectory {
    async fn authenticate(&self, username: &str, password: &str) -> Result<DirectoryUser, DirectoryError> {
        let row = local_directory::Entity::find_by_id(username.to_owned())
            .one(&self.db)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        let hash = row.as_ref().map_or_else(|| self.dummy_hash.clone(), |row| row.password_hash.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        match row {
            Some(row) if matches => Ok(DirectoryUser {
                username: row.username,
                name: row.name,
                email: row.email,
                department: row.department,
                title: row.title,
                roles: roles_from_column(&row.roles),
            }),
            _ => Err(DirectoryError::InvalidCredentials),
        }
    }

    fn kind(&self) -> &'static str {
        "local (embedded user table)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_their_password() {
        let hash = hash_password("P@ssw0rd123!").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("P@ssw0rd123!", &hash));
        assert!(!verify_password("P@ssw0rd123?", &hash));
        assert!(!verify_password("P@ssw0rd123!", "not a hash"));
    }
}
