//! The rules: each pre-check failing on its own, lines of other customers refused, a caller
//! without lines, and bad line numbers, dates and ids answered with the documented 400.

use serde_json::json;

use super::{LINE, OTHER_LINE, Pc, SUSPENDED_LINE, checks, documented, documented_error};
use crate::support::http;
use crate::support::stack::backends;

fn pair(check: &str, result: &str) -> (String, String) {
    (check.to_owned(), result.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_pre_check_fails_on_its_own() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;
        // (line, current, target, the failing check, the 409 code of the change)
        let cases = [
            (LINE, "PLAN001", "PLAN009", "PRODUCT_AVAILABLE", "VALIDATION_FAILED"), // retired
            (LINE, "PLAN001", "PLAN101", "OPERATOR_MATCH", "VALIDATION_FAILED"),    // MVNO002's plan
            (SUSPENDED_LINE, "PLAN002", "PLAN001", "LINE_STATUS", "LINE_SUSPENDED"),
        ];
        for (line, current, target, failing, code) in cases {
            let check = pc.validate(line, current, target).await;
            documented("validateProductChange", &check, 200);
            assert_eq!(check.json["data"]["validationResult"], "FAILURE", "{}", check.json);
            let expected: Vec<_> = ["PRODUCT_AVAILABLE", "OPERATOR_MATCH", "LINE_STATUS"]
                .into_iter()
                .map(|c| pair(c, if c == failing { "FAIL" } else { "PASS" }))
                .collect();
            assert_eq!(checks(&check), expected, "{target}: {}", check.json);
            assert!(check.json["data"]["failureReason"].is_string(), "{}", check.json);

            let change = pc.change(line, current, target).await;
            documented_error("requestProductChange", &change, 409, code);
            assert!(change.json["error"]["details"].is_string(), "{}", change.json);
        }
        let suspended = pc.validate(SUSPENDED_LINE, "PLAN002", "PLAN001").await;
        assert_eq!(suspended.json["data"]["failureReason"], "회선이 정지 상태입니다");
        // A stale current product is a failed check too.
        let stale = pc.change(LINE, "PLAN002", "PLAN003").await;
        documented_error("requestProductChange", &stale, 409, "VALIDATION_FAILED");
        // Nothing was recorded for refused changes.
        let history = pc.get("/products/history").await;
        documented("getProductChangeHistory", &history, 200);
        assert_eq!(history.json["data"]["pagination"]["totalElements"], 0);
        pc.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_and_requests_of_other_customers_are_refused() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;
        let customer = pc.get(&format!("/products/customer/{OTHER_LINE}")).await;
        documented_error("getCustomerInfo", &customer, 404, "NOT_FOUND");
        let unknown = pc.get("/products/customer/01000000000").await;
        documented_error("getCustomerInfo", &unknown, 404, "NOT_FOUND");
        let check = pc.validate(OTHER_LINE, "PLAN101", "PLAN102").await;
        documented_error("validateProductChange", &check, 400, "INVALID_REQUEST");
        let change = pc.change(OTHER_LINE, "PLAN101", "PLAN102").await;
        documented_error("requestProductChange", &change, 409, "CHANGE_DENIED");
        let history = pc.get(&format!("/products/history?lineNumber={OTHER_LINE}")).await;
        documented_error("getProductChangeHistory", &history, 400, "INVALID_REQUEST");

        // user002 owns that line: their change works, and user001 cannot read its result.
        let kim = pc.token_for("user002");
        let menu = pc.get_as("/products/menu", &kim).await;
        documented("getProductMenu", &menu, 200);
        assert_eq!(menu.json["data"]["customerId"], "CUST002");
        let body = json!({"lineNumber": OTHER_LINE, "currentProductCode": "PLAN101", "targetProductCode": "PLAN102"});
        let theirs = http::post_json(&pc.url("/products/change"), Some(&kim), &body).await;
        documented("requestProductChange", &theirs, 200);
        let request_id = theirs.json["data"]["requestId"].as_str().expect("requestId");
        let mine = pc.get(&format!("/products/change/{request_id}")).await;
        documented_error("getProductChangeResult", &mine, 404, "NOT_FOUND");
        documented("getProductChangeResult", &pc.get_as(&format!("/products/change/{request_id}"), &kim).await, 200);

        // A portal user who is no KOS customer has no menu.
        let stranger = pc.token_for("user999");
        let none = pc.get_as("/products/menu", &stranger).await;
        documented_error("getProductMenu", &none, 403, "FORBIDDEN");
        pc.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_line_numbers_dates_and_ids_get_the_documented_400() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;
        for bad in ["0101234567", "010123456789", "01112345678", "0101234567a", "abcdefghijk"] {
            let customer = pc.get(&format!("/products/customer/{bad}")).await;
            documented_error("getCustomerInfo", &customer, 400, "INVALID_REQUEST");
            let check = pc.validate(bad, "PLAN001", "PLAN002").await;
            documented_error("validateProductChange", &check, 400, "INVALID_REQUEST");
            let change = pc.change(bad, "PLAN001", "PLAN002").await;
            documented_error("requestProductChange", &change, 400, "INVALID_REQUEST");
            let history = pc.get(&format!("/products/history?lineNumber={bad}")).await;
            documented_error("getProductChangeHistory", &history, 400, "INVALID_REQUEST");
        }
        let missing = pc.post("/products/change/validation", &json!({"lineNumber": LINE, "currentProductCode": "PLAN001"})).await;
        documented_error("validateProductChange", &missing, 400, "INVALID_REQUEST");
        let bad_date = pc
            .post(
                "/products/change",
                &json!({"lineNumber": LINE, "currentProductCode": "PLAN001", "targetProductCode": "PLAN002", "changeEffectiveDate": "2024-02-30"}),
            )
            .await;
        documented_error("requestProductChange", &bad_date, 400, "INVALID_REQUEST");
        for query in [
            "startDate=2024-13-01",
            "endDate=yesterday",
            "startDate=2024-12-31&endDate=2024-01-01",
            "page=0",
            "size=0",
            "size=101",
            "page=abc",
        ] {
            let history = pc.get(&format!("/products/history?{query}")).await;
            documented_error("getProductChangeHistory", &history, 400, "INVALID_REQUEST");
        }
        let not_uuid = pc.get("/products/change/not-a-uuid").await;
        documented_error("getProductChangeResult", &not_uuid, 400, "INVALID_REQUEST");
        let unknown = pc.get(&format!("/products/change/{}", uuid::Uuid::new_v4())).await;
        documented_error("getProductChangeResult", &unknown, 404, "NOT_FOUND");
        let no_token = http::get(&pc.url("/products/menu"), None).await;
        documented_error("getProductMenu", &no_token, 401, "UNAUTHORIZED");
        // Nothing was recorded for any of it.
        let history = pc.get("/products/history").await;
        documented("getProductChangeHistory", &history, 200);
        assert_eq!(history.json["data"]["pagination"]["totalElements"], 0);
        pc.stop().await;
    }
}
