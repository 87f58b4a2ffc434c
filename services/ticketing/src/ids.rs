//! Identifiers in the spec's style (`usr_abc123`, `evt_123`, `book_abc123`, `res_xyz789`).

pub fn new_id(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..16])
}
