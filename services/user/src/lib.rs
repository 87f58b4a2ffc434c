//! Meeting-minutes User Service (user-service.yaml): directory login, JWT access and
//! refresh tokens, lockout, logout, token validation.

mod api;
mod directory;
mod domain;
mod errors;
mod ldap_directory;
mod local_directory;
mod store;

pub use api::UserApi;
pub use directory::{Directory, DirectoryError, DirectoryUser};
pub use domain::{UserService, UserSettings};
pub use errors::UserError;
pub use ldap_directory::{AttributeMap, LdapDirectory, LdapSettings};
pub use local_directory::LocalDirectory;
pub use store::Migrator;

/// The `aud` claim of the tokens this service issues (the APIs that accept them declare the
/// same audience in their contract).
pub const AUDIENCE: &str = "meeting";
