//! The LDAP directory (the spec's real one): search the user with a service account, bind as
//! the user with the given password, read attributes and group membership. LDAPS or
//! StartTLS; every directory operation bounded by a timeout; connections reused.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};
use tokio::sync::Mutex;

use crate::directory::{Directory, DirectoryError, DirectoryUser};

/// Which entry attribute holds each user field.
#[derive(Debug, Clone)]
pub struct AttributeMap {
    pub name: String,
    pub email: String,
    pub department: String,
    pub title: String,
    /// Attribute of a group entry whose value becomes the role (upper-cased).
    pub group_role: String,
}

impl Default for AttributeMap {
    fn default() -> Self {
        Self {
            name: "cn".into(),
            email: "mail".into(),
            department: "departmentNumber".into(),
            title: "title".into(),
            group_role: "cn".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LdapSettings {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// PEM file of the CA that signed the server certificate (else the system roots).
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    pub bind_password: String,
    /// Where users are searched.
    pub user_base_dn: String,
    /// `{username}` is replaced by the escaped username.
    pub user_filter: String,
    /// Where groups are searched; empty: no roles from groups.
    pub group_base_dn: String,
    /// `{dn}` is replaced by the escaped user DN.
    pub group_filter: String,
    pub attributes: AttributeMap,
    /// Group name → role (e.g. `users` → `USER`); unmapped groups become their upper-cased name.
    pub role_map: HashMap<String, String>,
    /// Bound on every directory operation (connect, bind, search).
    pub timeout: Duration,
}

impl Default for LdapSettings {
    fn default() -> Self {
        Self {
            url: "ldaps://localhost:636".into(),
            starttls: false,
            ca_file: None,
            bind_dn: String::new(),
            bind_password: String::new(),
            user_base_dn: String::new(),
            user_filter: "(uid={username})".into(),
            group_base_dn: String::new(),
            group_filter: "(member={dn})".into(),
            attributes: AttributeMap::default(),
            role_map: HashMap::new(),
            timeout: Duration::from_secs(5),
        }
    }
}

pub struct LdapDirectory {
    settings: LdapSettings,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Bound as the service account; used for searches.
    search: Mutex<Option<Ldap>>,
    /// Idle connections for user binds (their bound identity does not matter).
    bind_pool: Mutex<Vec<Ldap>>,
}

fn unavailable(error: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(error.to_string())
}

/// LDAP result code for a wrong password (RFC 4511 invalidCredentials).
const INVALID_CREDENTIALS: u32 = 49;
const IDLE_BIND_CONNECTIONS: usize = 4;

impl LdapDirectory {
    pub fn new(settings: LdapSettings) -> Result<Self, DirectoryError> {
        let tls = match &settings.ca_file {
            Some(path) => Some(Arc::new(tls_config(path)?)),
            None => None,
        };
        Ok(Self { settings, tls, search: Mutex::new(None), bind_pool: Mutex::new(Vec::new()) })
    }

    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.settings.timeout)
            .set_starttls(self.settings.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (connection, ldap) = tokio::time::timeout(
            self.settings.timeout,
            LdapConnAsync::with_settings(settings, &self.settings.url),
        )
        .await
        .map_err(|_| unavailable("connect timed out"))?
        .map_err(unavailable)?;
        ldap3::drive!(connection);
        Ok(ldap)
    }

    /// Runs one directory operation under the timeout.
    async fn bounded<T>(
        &self,
        operation: impl std::future::Future<Output = ldap3::result::Result<T>>,
    ) -> Result<T, DirectoryError> {
        tokio::time::timeout(self.settings.timeout, operation)
            .await
            .map_err(|_| unavailable("directory operation timed out"))?
            .map_err(unavailable)
    }

    async fn service_connection(&self) -> Result<Ldap, DirectoryError> {
        let mut slot = self.search.lock().await;
        if let Some(ldap) = slot.as_mut() {
            if !ldap.is_closed() {
                return Ok(ldap.clone());
            }
        }
        let mut ldap = self.connect().await?;
        let timeout = self.settings.timeout;
        self.bounded(ldap.with_timeout(timeout).simple_bind(&self.settings.bind_dn, &self.settings.bind_password))
            .await?
            .success()
            .map_err(|e| unavailable(format!("service account bind: {e}")))?;
        *slot = Some(ldap.clone());
        Ok(ldap)
    }

    async fn search(&self, base: &str, filter: &str, attrs: Vec<String>) -> Result<Vec<SearchEntry>, DirectoryError> {
        let result = self.search_once(base, filter, attrs.clone()).await;
        match result {
            // A dropped connection (server restart) is retried once on a fresh one.
            Err(DirectoryError::Unavailable(_)) => {
                *self.search.lock().await = None;
                self.search_once(base, filter, attrs).await
            }
            other => other,
        }
    }

    async fn search_once(&self, base: &str, filter: &str, attrs: Vec<String>) -> Result<Vec<SearchEntry>, DirectoryError> {
        let mut ldap = self.service_connection().await?;
        let timeout = self.settings.timeout;
        let (entries, _) = self
            .bounded(ldap.with_timeout(timeout).search(base, Scope::Subtree, filter, attrs))
            .await?
            .success()
            .map_err(unavailable)?;
        entries
            .into_iter()
            .map(|entry| {
                // ldap3 panics on an entry it cannot parse: keep that off the request path.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(entry)))
                    .map_err(|_| unavailable("unparseable directory entry"))
            })
            .collect()
    }

    /// True when `password` is the user's; errors only when the directory cannot tell.
    async fn check_password(&self, dn: &str, password: &str) -> Result<bool, DirectoryError> {
        let pooled = self.bind_pool.lock().await.pop();
        let mut ldap = match pooled {
            Some(mut ldap) => {
                if ldap.is_closed() { self.connect().await? } else { ldap }
            }
            None => self.connect().await?,
        };
        let timeout = self.settings.timeout;
        let result = self.bounded(ldap.with_timeout(timeout).simple_bind(dn, password)).await?;
        let verdict = match result.rc {
            0 => true,
            INVALID_CREDENTIALS => false,
            rc => return Err(unavailable(format!("user bind answered {rc}"))),
        };
        let mut pool = self.bind_pool.lock().await;
        if pool.len() < IDLE_BIND_CONNECTIONS {
            pool.push(ldap);
        }
        Ok(verdict)
    }

    fn roles_from_groups(&self, groups: &[SearchEntry]) -> Vec<String> {
        let mut roles: Vec<String> = groups
            .iter()
            .filter_map(|group| first(&group.attrs, &self.settings.attributes.group_role))
            .map(|name| self.settings.role_map.get(&name).cloned().unwrap_or_else(|| name.to_uppercase()))
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

fn first(attrs: &HashMap<String, Vec<String>>, name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, values)| values.first().cloned())
}

fn tls_config(ca_file: &std::path::Path) -> Result<rustls::ClientConfig, DirectoryError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| unavailable(format!("CA file {}: {e}", ca_file.display())))?;
    for certificate in certificates {
        let certificate = certificate.map_err(|e| unavailable(format!("CA file {}: {e}", ca_file.display())))?;
        roots.add(certificate).map_err(unavailable)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unavailable)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn authenticate(&self, username: &str, password: &str) -> Result<DirectoryUser, DirectoryError> {
        // An empty password would be an anonymous bind, which LDAP servers accept.
        if password.is_empty() {
            return Err(DirectoryError::InvalidCredentials);
        }
        let attributes = &self.settings.attributes;
        let filter = self.settings.user_filter.replace("{username}", &ldap_escape(username));
        let wanted = vec![
            attributes.name.clone(),
            attributes.email.clone(),
            attributes.department.clone(),
            attributes.title.clone(),
        ];
        let entries = self.search(&self.settings.user_base_dn, &filter, wanted).await?;
        // Unknown (or ambiguous) user: the same answer as a wrong password.
        let [entry] = entries.as_slice() else { return Err(DirectoryError::InvalidCredentials) };
        if !self.check_password(&entry.dn, password).await? {
            return Err(DirectoryError::InvalidCredentials);
        }
        let roles = if self.settings.group_base_dn.is_empty() {
            Vec::new()
        } else {
            let filter = self.settings.group_filter.replace("{dn}", &ldap_escape(entry.dn.as_str()));
            let groups = self
                .search(&self.settings.group_base_dn, &filter, vec![attributes.group_role.clone()])
                .await?;
            self.roles_from_groups(&groups)
        };
        Ok(DirectoryUser {
            username: username.to_owned(),
            name: first(&entry.attrs, &attributes.name).unwrap_or_else(|| username.to_owned()),
            email: first(&entry.attrs, &attributes.email).unwrap_or_default(),
            department: first(&entry.attrs, &attributes.department),
            title: first(&entry.attrs, &attributes.title),
            roles,
        })
    }

    fn kind(&self) -> &'static str {
        "ldap"
    }
}
