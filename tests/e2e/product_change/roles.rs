//! One pod per service: KOS, the User Service and the Product-Change Service each in their own
//! `serve` role, found over gRPC by URL (`KOS_GRPC_URL`, `USER_GRPC_URL`), behind a separate
//! gateway (`PRODUCT_CHANGE_GRPC_URL`).

use std::collections::HashMap;

use serde_json::json;

use platform::config::{Config, Role, Source};

use super::{LINE, documented};
use crate::support::http;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kos_and_product_change_work_in_their_own_roles() {
    let dir = std::env::temp_dir().join(format!("kt-split-pc-{}", uuid::Uuid::new_v4().simple()));
    let mut common = HashMap::from([
        ("DATA_DIR".to_owned(), dir.display().to_string()),
        ("HTTP_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("GRPC_HOST".to_owned(), "127.0.0.1".to_owned()),
    ]);
    for (service, _, _) in platform::config::SERVICES {
        common.insert(format!("{}_GRPC_PORT", service.to_uppercase()), "0".into());
    }
    for api in platform::config::APIS {
        common.insert(format!("{}_HTTP_PORT", api.to_uppercase()), "0".into());
    }
    let serve = |services: &[&str], values: &HashMap<String, String>| {
        let role = Role::Serve(services.iter().map(|s| (*s).to_owned()).collect());
        Config::load(role, &Source::from_map(values.clone())).expect("config")
    };
    let user = platform::app::start(serve(&["user"], &common)).await.expect("user service");
    let kos = platform::app::start(serve(&["kos"], &common)).await.expect("KOS");
    assert!(kos.http.is_empty(), "KOS has no REST listener");
    common.insert("USER_GRPC_URL".into(), format!("http://{}", user.grpc["user"]));
    common.insert("KOS_GRPC_URL".into(), format!("http://{}", kos.grpc["kos"]));
    let product_change = platform::app::start(serve(&["product_change"], &common)).await.expect("product-change");
    common.insert("PRODUCT_CHANGE_GRPC_URL".into(), format!("http://{}", product_change.grpc["product_change"]));
    let gateway = platform::app::start(Config::load(Role::Gateway, &Source::from_map(common)).expect("config"))
        .await
        .expect("gateway");

    let login = http::post_json(
        &format!("http://{}/api/v1/auth/login", gateway.http["user"]),
        None,
        &json!({"username": "user001", "password": "P@ssw0rd123!"}),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.json);
    let token = login.json["accessToken"].as_str().expect("token");
    let base = format!("http://{}/v1/product-change", gateway.http["product_change"]);
    let menu = http::get(&format!("{base}/products/menu"), Some(token)).await;
    documented("getProductMenu", &menu, 200);
    let body = json!({"lineNumber": LINE, "currentProductCode": "PLAN001", "targetProductCode": "PLAN002"});
    let change = http::post_json(&format!("{base}/products/change"), Some(token), &body).await;
    documented("requestProductChange", &change, 200);

    gateway.shutdown().await;
    product_change.shutdown().await;
    kos.shutdown().await;
    user.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
