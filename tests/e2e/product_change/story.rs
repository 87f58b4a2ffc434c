//! The user's story end to end: menu → customer → products → validation → change (200) →
//! result → history, and the asynchronous paths: KOS slower than the budget (202, finished by
//! the poll job), provisioning orders KOS completes later, across a restart of the platform.

use serde_json::json;

use super::{LINE, Pc, documented};
use crate::support::stack::backends;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menu_customer_products_validation_change_and_history() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;

        let menu = pc.get("/products/menu").await;
        documented("getProductMenu", &menu, 200);
        let data = &menu.json["data"];
        assert_eq!(data["customerId"], "CUST001", "{}", backend.label());
        assert_eq!(data["lineNumber"], LINE);
        assert_eq!(data["currentProduct"]["productCode"], "PLAN001");
        assert_eq!(data["menuItems"][0]["available"], true);

        let customer = pc.get(&format!("/products/customer/{LINE}")).await;
        documented("getCustomerInfo", &customer, 200);
        let data = &customer.json["data"];
        assert_eq!(data["customerName"], "홍길동");
        assert_eq!(data["lineStatus"], "ACTIVE");
        assert_eq!(data["currentProduct"]["productCode"], "PLAN001");
        assert_eq!(data["currentProduct"]["operatorCode"], "MVNO001");
        assert_eq!(data["contractInfo"]["contractDate"], "2024-03-15");

        let products = pc.get("/products/available?currentProductCode=PLAN001").await;
        documented("getAvailableProducts", &products, 200);
        let codes: Vec<&str> =
            products.json["data"]["products"].as_array().expect("products").iter().filter_map(|p| p["productCode"].as_str()).collect();
        assert_eq!(codes, ["PLAN002", "PLAN003", "PLAN004", "PLAN005"], "on sale, same operator, not the current one");
        assert_eq!(products.json["data"]["totalCount"], 4);
        let other_operator = pc.get("/products/available?operatorCode=MVNO002").await;
        documented("getAvailableProducts", &other_operator, 200);
        let codes: Vec<&str> = other_operator.json["data"]["products"]
            .as_array()
            .expect("products")
            .iter()
            .filter_map(|p| p["productCode"].as_str())
            .collect();
        assert_eq!(codes, ["PLAN101", "PLAN102", "PLAN103"], "retired PLAN109 is not offered");

        let check = pc.validate(LINE, "PLAN001", "PLAN003").await;
        documented("validateProductChange", &check, 200);
        assert_eq!(check.json["data"]["validationResult"], "SUCCESS");
        assert_eq!(super::checks(&check).len(), 3);
        assert!(check.json["data"].get("failureReason").is_none(), "{}", check.json);

        let change = pc
            .post(
                "/products/change",
                &json!({"lineNumber": LINE, "currentProductCode": "PLAN001", "targetProductCode": "PLAN003",
                        "requestDate": "2024-03-15T10:30:00Z", "changeEffectiveDate": "2024-03-16"}),
            )
            .await;
        documented("requestProductChange", &change, 200);
        let data = &change.json["data"];
        assert_eq!(data["processStatus"], "COMPLETED");
        assert_eq!(data["resultCode"], "SUCCESS");
        assert_eq!(data["changedProduct"]["productCode"], "PLAN003");
        let request_id = data["requestId"].as_str().expect("requestId").to_owned();

        let result = pc.get(&format!("/products/change/{request_id}")).await;
        documented("getProductChangeResult", &result, 200);
        assert_eq!(result.json["data"]["processStatus"], "COMPLETED");
        assert_eq!(result.json["data"]["currentProductCode"], "PLAN001");
        assert_eq!(result.json["data"]["targetProductCode"], "PLAN003");

        // The history is written from the bus: wait for it, then read it as the spec pages it.
        let history = pc.wait_for_history(&format!("?lineNumber={LINE}"), &request_id, "COMPLETED").await;
        let item = &history["data"]["history"][0];
        assert_eq!(item["currentProductName"], "LTE 베이직 플랜");
        assert_eq!(item["targetProductName"], "LTE 무제한 플랜");
        assert_eq!(history["data"]["pagination"], json!({"page": 1, "size": 10, "totalElements": 1, "totalPages": 1, "hasNext": false, "hasPrevious": false}));

        // The caches were warm before the change: they must not answer with the old plan.
        let customer = pc.get(&format!("/products/customer/{LINE}")).await;
        documented("getCustomerInfo", &customer, 200);
        assert_eq!(customer.json["data"]["currentProduct"]["productCode"], "PLAN003");
        let menu = pc.get("/products/menu").await;
        documented("getProductMenu", &menu, 200);
        assert_eq!(menu.json["data"]["currentProduct"]["productCode"], "PLAN003");

        // KOS kept its own record of the change.
        let line = pc.kos().await.get_line(contracts::proto::kos::v1::GetLineRequest { line_number: LINE.into() }).await;
        assert_eq!(line.expect("KOS line").into_inner().product_code, "PLAN003");

        // Date range and paging.
        let today = chrono::Utc::now().date_naive();
        let inside = pc.get(&format!("/products/history?startDate={today}&endDate={today}&page=1&size=1")).await;
        documented("getProductChangeHistory", &inside, 200);
        assert_eq!(inside.json["data"]["pagination"]["totalElements"], 1);
        let before = pc.get("/products/history?startDate=2024-01-01&endDate=2024-12-31").await;
        documented("getProductChangeHistory", &before, 200);
        assert_eq!(before.json["data"]["history"], json!([]));
        assert_eq!(before.json["data"]["pagination"]["totalPages"], 0);
        let past_end = pc.get("/products/history?page=2&size=1").await;
        documented("getProductChangeHistory", &past_end, 200);
        assert_eq!(past_end.json["data"]["history"], json!([]));
        assert_eq!(past_end.json["data"]["pagination"]["hasPrevious"], true);
        pc.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kos_slower_than_the_budget_answers_202_and_the_poll_job_finishes_the_change() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[("PRODUCT_CHANGE_SYNC_BUDGET_MS", "1000"), ("KOS_CALL_TIMEOUT_MS", "10000")]).await;
        // Warm the catalog, then make KOS slower than the synchronous budget.
        documented("getAvailableProducts", &pc.get("/products/available").await, 200);
        pc.set_faults(0.0, 2500, false).await;

        let change = pc.change(LINE, "PLAN001", "PLAN002").await;
        documented("requestProductChange", &change, 202);
        let data = &change.json["data"];
        assert!(matches!(data["processStatus"].as_str(), Some("PENDING" | "PROCESSING")), "{}", change.json);
        assert!(data.get("resultCode").is_none(), "202 carries no result yet: {}", change.json);
        let request_id = data["requestId"].as_str().expect("requestId").to_owned();

        let done = pc.wait_for_result(&request_id, "COMPLETED").await;
        assert_eq!(done["data"]["resultCode"], "SUCCESS", "{done}");
        assert!(done["data"]["processedAt"].is_string());
        pc.set_faults(0.0, 0, false).await;
        pc.wait_for_history("", &request_id, "COMPLETED").await;
        let customer = pc.get(&format!("/products/customer/{LINE}")).await;
        assert_eq!(customer.json["data"]["currentProduct"]["productCode"], "PLAN002");
        pc.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_order_completes_after_a_restart_mid_change() {
    for backend in backends() {
        let mut pc = Pc::start(&backend, &[]).await;
        // PLAN004 (5G) needs provisioning: KOS accepts the order and completes it later.
        let change = pc.change(LINE, "PLAN001", "PLAN004").await;
        documented("requestProductChange", &change, 202);
        assert_eq!(change.json["data"]["processStatus"], "PROCESSING", "{}", change.json);
        assert!(change.json["data"]["estimatedCompletionTime"].is_string(), "{}", change.json);
        let request_id = change.json["data"]["requestId"].as_str().expect("requestId").to_owned();
        // KOS holds the order open (provisioning takes 3 s): the restart comes mid-change.
        let order = pc.kos().await.get_change_order(contracts::proto::kos::v1::GetChangeOrderRequest { request_id: request_id.clone() }).await;
        assert_eq!(order.expect("KOS order").into_inner().state, contracts::proto::kos::v1::OrderState::OrderAccepted as i32);

        pc.stack.restart().await;

        let result = pc.get(&format!("/products/change/{request_id}")).await;
        documented("getProductChangeResult", &result, 200);
        let done = pc.wait_for_result(&request_id, "COMPLETED").await;
        assert_eq!(done["data"]["targetProductCode"], "PLAN004");
        pc.wait_for_history("", &request_id, "COMPLETED").await;
        let customer = pc.get(&format!("/products/customer/{LINE}")).await;
        documented("getCustomerInfo", &customer, 200);
        assert_eq!(customer.json["data"]["currentProduct"]["productCode"], "PLAN004");
        pc.stop().await;
    }
}
