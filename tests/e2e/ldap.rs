//! The User Service against a real OpenLDAP server (a throwaway slapd from
//! tests/ldap/slapd.sh), through the gateway over HTTP: login over LDAP, LDAPS and StartTLS,
//! registration on first login, attribute changes, lockout, no user enumeration, and a
//! directory that is down or silent (503, not counted as a failure).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::support::http::{self, Reply};
use crate::support::spec::Spec;
use crate::support::stack::{Stack, backends};

static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::load("user-service.yaml"));

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ldap/slapd.sh")
}

/// One throwaway slapd.
struct Slapd {
    dir: PathBuf,
    env: HashMap<String, String>,
}

impl Slapd {
    fn start() -> Option<Slapd> {
        if !Path::new("/usr/sbin/slapd").exists() {
            // `make test` installs slapd and sets LDAP_TESTS_REQUIRED, so there this fails;
            // a bare `cargo test` on a machine without slapd skips.
            assert!(std::env::var_os("LDAP_TESTS_REQUIRED").is_none(), "slapd is required but not installed");
            println!("slapd is not installed (make test installs it): skipping");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("kt-slapd-{}", uuid::Uuid::new_v4().simple()));
        let output = Command::new("bash").arg(script()).arg("start").arg(&dir).output().expect("slapd.sh runs");
        assert!(output.status.success(), "slapd.sh start failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let env = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(Slapd { dir, env })
    }

    fn get(&self, key: &str) -> String {
        self.env.get(key).cloned().unwrap_or_else(|| panic!("slapd.sh printed no {key}"))
    }

    /// Configuration of the User Service for this directory.
    fn config(&self, url: &str, starttls: bool) -> HashMap<String, String> {
        HashMap::from([
            ("USER_DIRECTORY".into(), "ldap".into()),
            ("LDAP_URL".into(), url.to_owned()),
            ("LDAP_STARTTLS".into(), starttls.to_string()),
            ("LDAP_CA_FILE".into(), self.get("LDAP_CA_FILE")),
            ("LDAP_BIND_DN".into(), self.get("LDAP_BIND_DN")),
            ("LDAP_BIND_PASSWORD".into(), self.get("LDAP_BIND_PASSWORD")),
            ("LDAP_BASE_DN".into(), self.get("LDAP_BASE_DN")),
            ("LDAP_GROUP_BASE_DN".into(), self.get("LDAP_GROUP_BASE_DN")),
            ("LDAP_ROLE_MAP".into(), "users=USER,admins=ADMIN".into()),
            ("LDAP_TIMEOUT_MS".into(), "2000".into()),
        ])
    }

    fn modify(&self, ldif: &str) {
        let file = self.dir.join("change.ldif");
        std::fs::write(&file, ldif).expect("ldif");
        let output = Command::new("bash").arg(script()).arg("modify").arg(&self.dir).arg(&file).output().expect("modify");
        assert!(output.status.success(), "modify failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn stop(&self) {
        let _ = Command::new("bash").arg(script()).arg("stop").arg(&self.dir).output();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn login(stack: &Stack, username: &str, password: &str) -> Reply {
    http::post_json(&stack.url("user", "/api/v1/auth/login"), None, &json!({"username": username, "password": password})).await
}

fn documented(operation: &str, reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{operation}: {}", reply.json);
    SPEC.check_response(operation, status, &reply.json)
        .unwrap_or_else(|e| panic!("{operation} {status} breaks the spec: {e}\n{:#}", reply.json));
}

/// 503 is not among login's documented statuses; the body is still the API's ErrorResponse.
fn unavailable(reply: &Reply) {
    assert_eq!(reply.status, 503, "{}", reply.json);
    SPEC.check_schema("ErrorResponse", &reply.json)
        .unwrap_or_else(|e| panic!("503 body breaks ErrorResponse: {e}\n{:#}", reply.json));
    assert_eq!(reply.json["error"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(reply.header("retry-after"), Some("30"));
}

/// The error body without its timestamp, to compare two failures.
fn without_timestamp(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("timestamp");
    }
    body
}

/// (title, last login) of a user in the User Service's own `users` table.
async fn stored_user(stack: &Stack, user_id: &str) -> Option<(Option<String>, chrono::DateTime<chrono::Utc>)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = stack.database("user").await;
    let statement = Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "SELECT title, last_login_at FROM users WHERE user_id = $1",
            _ => "SELECT title, last_login_at FROM users WHERE user_id = ?",
        },
        [user_id.into()],
    );
    let row = db.query_one_raw(statement).await.expect("query")?;
    let title: Option<String> = row.try_get("", "title").expect("title");
    let last_login: chrono::DateTime<chrono::Utc> = row.try_get("", "last_login_at").expect("last_login_at");
    Some((title, last_login))
}

async fn user_info(stack: &Stack, access: &str) -> Value {
    let reply = http::get(&stack.url("user", "/api/v1/auth/validate?includeUserInfo=true"), Some(access)).await;
    documented("validateToken", &reply, 200);
    reply.json["user"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_login_registers_the_user_and_follows_attribute_changes() {
    let Some(slapd) = Slapd::start() else { return };
    for backend in backends() {
        let stack = Stack::start_with(&backend, slapd.config(&slapd.get("LDAP_URL"), false)).await;
        assert!(stored_user(&stack, "user001").await.is_none(), "not registered before the first login");
        let first = login(&stack, "user001", "P@ssw0rd123!").await;
        let (title, first_login) = stored_user(&stack, "user001").await.expect("registered on first login");
        assert_eq!(title.as_deref(), Some("선임"));
        assert!((chrono::Utc::now() - first_login).num_seconds().abs() < 60, "last login {first_login}");
        documented("login", &first, 200);
        assert_eq!(first.json["user"]["name"], "홍길동");
        assert_eq!(first.json["user"]["email"], "hong@company.com");
        assert_eq!(first.json["user"]["department"], "개발팀");
        assert_eq!(first.json["user"]["title"], "선임");
        assert_eq!(first.json["user"]["roles"], json!(["USER"]));
        let access = first.json["accessToken"].as_str().expect("access").to_owned();
        // Registered in the service's own tables: validate reads them, not the directory.
        assert_eq!(user_info(&stack, &access).await["title"], "선임");

        let admin = login(&stack, "admin01", "Adm1n!Pass123").await;
        documented("login", &admin, 200);
        assert_eq!(admin.json["user"]["roles"], json!(["ADMIN", "USER"]), "roles from both groups");

        slapd.modify(
            "dn: uid=user001,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: 책임\n-\nreplace: departmentNumber\ndepartmentNumber: 플랫폼팀\n",
        );
        let second = login(&stack, "user001", "P@ssw0rd123!").await;
        documented("login", &second, 200);
        let access = second.json["accessToken"].as_str().expect("access").to_owned();
        let info = user_info(&stack, &access).await;
        assert_eq!((info["title"].as_str(), info["department"].as_str()), (Some("책임"), Some("플랫폼팀")), "{}", backend.label());
        let (title, second_login) = stored_user(&stack, "user001").await.expect("still registered");
        assert_eq!(title.as_deref(), Some("책임"));
        assert!(second_login > first_login, "every login updates the last-login time");
        // Restore for the next backend's run.
        slapd.modify(
            "dn: uid=user001,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: title\ntitle: 선임\n-\nreplace: departmentNumber\ndepartmentNumber: 개발팀\n",
        );
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldaps_and_starttls_work() {
    let Some(slapd) = Slapd::start() else { return };
    for (url, starttls) in [(slapd.get("LDAPS_URL"), false), (slapd.get("LDAP_URL"), true)] {
        let stack = Stack::start_with(&crate::support::stack::Backend::Embedded, slapd.config(&url, starttls)).await;
        let reply = login(&stack, "user002", "Secr3t!Pass").await;
        documented("login", &reply, 200);
        stack.stop().await;
    }
    // A server certificate nobody vouches for is refused (503: the directory is unusable).
    let mut untrusted = slapd.config(&slapd.get("LDAPS_URL"), false);
    untrusted.remove("LDAP_CA_FILE");
    let stack = Stack::start_with(&crate::support::stack::Backend::Embedded, untrusted).await;
    let reply = login(&stack, "user002", "Secr3t!Pass").await;
    unavailable(&reply);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_and_unknown_users_look_the_same() {
    let Some(slapd) = Slapd::start() else { return };
    let stack = Stack::start_with(&crate::support::stack::Backend::Embedded, slapd.config(&slapd.get("LDAP_URL"), false)).await;
    let wrong = login(&stack, "user002", "not-the-password").await;
    documented("login", &wrong, 401);
    let unknown = login(&stack, "nobody42", "not-the-password").await;
    documented("login", &unknown, 401);
    assert_eq!(
        without_timestamp(&wrong.json),
        without_timestamp(&unknown.json),
        "unknown user and wrong password must be indistinguishable"
    );

    for _ in 0..3 {
        documented("login", &login(&stack, "user002", "not-the-password").await, 401);
    }
    let fifth = login(&stack, "user002", "not-the-password").await;
    documented("login", &fifth, 403);
    assert_eq!(fifth.json["error"]["code"], "ACCOUNT_LOCKED");
    let locked = login(&stack, "user002", "Secr3t!Pass").await;
    documented("login", &locked, 403);
    // Another user is unaffected.
    documented("login", &login(&stack, "user001", "P@ssw0rd123!").await, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_that_is_down_or_silent_is_503_and_not_a_failed_attempt() {
    let Some(slapd) = Slapd::start() else { return };
    let mut stack = Stack::start_with(&crate::support::stack::Backend::Embedded, slapd.config(&slapd.get("LDAP_URL"), false)).await;
    documented("login", &login(&stack, "user001", "P@ssw0rd123!").await, 200);

    slapd.stop();
    for _ in 0..6 {
        let reply = login(&stack, "user001", "P@ssw0rd123!").await;
        unavailable(&reply);
        let wrong = login(&stack, "user001", "wrong-password").await;
        unavailable(&wrong);
    }

    // A server that accepts connections and never answers: bounded by the timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_url = format!("ldap://{}", silent.local_addr().expect("addr"));
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    stack.extra.insert("LDAP_URL".into(), silent_url);
    stack.restart().await;
    let started = std::time::Instant::now();
    let reply = login(&stack, "user001", "wrong-password").await;
    unavailable(&reply);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the timeout bounds the wait");
    holder.abort();

    // Back on a live directory: none of the 7 refused attempts counted toward the lockout.
    let Some(fresh) = Slapd::start() else { return };
    stack.extra = fresh.config(&fresh.get("LDAP_URL"), false);
    stack.restart().await;
    documented("login", &login(&stack, "user001", "wrong-password").await, 401);
    documented("login", &login(&stack, "user001", "P@ssw0rd123!").await, 200);
    stack.stop().await;
}
