//! KOS misbehaving: down (503 with Retry-After, the breaker opens, half-opens and recovers when
//! KOS returns), and two changes of one line at once (one accepted, one 409).

use std::time::Duration;

use super::{LINE, Pc, documented, documented_error};
use crate::support::stack::backends;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kos_down_gives_503_then_the_breaker_opens_half_opens_and_recovers() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;
        // Warm the catalog so the recovery below needs only line and change calls.
        documented("getAvailableProducts", &pc.get("/products/available").await, 200);
        pc.set_faults(0.0, 0, true).await;

        let mut breaker_open = None;
        for _ in 0..30 {
            let reply = pc.change(LINE, "PLAN001", "PLAN002").await;
            documented_error("requestProductChange", &reply, 503, "SERVICE_UNAVAILABLE");
            let retry_after: u64 = reply
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("503 without Retry-After: {:?}", reply.headers));
            assert!(retry_after >= 1);
            if reply.json["error"]["details"].as_str().is_some_and(|d| d.contains("circuit breaker open")) {
                breaker_open = Some(retry_after);
                break;
            }
        }
        let retry_after = breaker_open.expect("the breaker opened while KOS was down");

        // Open: refused at once even though KOS is back, until the open period ends.
        pc.set_faults(0.0, 0, false).await;
        let refused = pc.change(LINE, "PLAN001", "PLAN002").await;
        documented_error("requestProductChange", &refused, 503, "SERVICE_UNAVAILABLE");
        assert!(refused.json["error"]["details"].as_str().is_some_and(|d| d.contains("circuit breaker open")));
        // Nothing was kept of the refused attempts.
        let history = pc.get("/products/history").await;
        documented("getProductChangeHistory", &history, 200);
        assert_eq!(history.json["data"]["pagination"]["totalElements"], 0, "{}", history.json);

        // After Retry-After the breaker lets probes through: KOS answers, the change goes ahead.
        tokio::time::sleep(Duration::from_secs(retry_after)).await;
        let mut recovered = None;
        for _ in 0..20 {
            let reply = pc.change(LINE, "PLAN001", "PLAN002").await;
            if reply.status == 200 {
                recovered = Some(reply);
                break;
            }
            documented_error("requestProductChange", &reply, 503, "SERVICE_UNAVAILABLE");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let recovered = recovered.expect("the change went through once KOS was back");
        documented("requestProductChange", &recovered, 200);
        assert_eq!(recovered.json["data"]["processStatus"], "COMPLETED");
        pc.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kos_errors_on_reads_are_retried_and_otherwise_the_documented_500() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;
        pc.set_faults(0.0, 0, true).await;
        let customer = pc.get(&format!("/products/customer/{LINE}")).await;
        documented_error("getCustomerInfo", &customer, 500, "INTERNAL_SERVER_ERROR");
        let check = pc.validate(LINE, "PLAN001", "PLAN002").await;
        documented_error("validateProductChange", &check, 500, "INTERNAL_SERVER_ERROR");
        // History needs no KOS: it holds the caller's own records.
        documented("getProductChangeHistory", &pc.get("/products/history").await, 200);
        pc.set_faults(0.0, 0, false).await;
        pc.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_changes_of_one_line_at_once_one_accepted_one_409() {
    for backend in backends() {
        let pc = Pc::start(&backend, &[]).await;
        // PLAN004 needs provisioning, so the first change stays in flight for a while.
        let (first, second) = tokio::join!(pc.change(LINE, "PLAN001", "PLAN004"), pc.change(LINE, "PLAN001", "PLAN005"));
        let (accepted, refused) = if first.status == 202 { (first, second) } else { (second, first) };
        documented("requestProductChange", &accepted, 202);
        documented_error("requestProductChange", &refused, 409, "CHANGE_DENIED");
        let request_id = accepted.json["data"]["requestId"].as_str().expect("requestId").to_owned();

        // Still one in flight: a third is refused too; once it completes, the line is free.
        let third = pc.change(LINE, "PLAN001", "PLAN002").await;
        documented_error("requestProductChange", &third, 409, "CHANGE_DENIED");
        pc.wait_for_result(&request_id, "COMPLETED").await;
        let current = pc.get(&format!("/products/customer/{LINE}")).await;
        let current = current.json["data"]["currentProduct"]["productCode"].as_str().expect("product").to_owned();
        let next = pc.change(LINE, &current, "PLAN002").await;
        documented("requestProductChange", &next, 200);
        pc.stop().await;
    }
}
