//! KOS's own rules on a real (in-memory SQLite) database: orders once per request id,
//! provisioning orders completed later, refusals recorded, faults injected.

use std::time::Duration;

use sea_orm::{ConnectOptions, Database};
use sea_orm_migration::MigratorTrait;

use kos_service::{FaultSettings, Faults, KosError, KosService, KosSettings, Migrator};

async fn kos(deferred_ms: u64) -> KosService {
    let mut options = ConnectOptions::new("sqlite::memory:");
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.expect("sqlite");
    Migrator::up(&db, None).await.expect("migrations");
    let service = KosService::new(db, Faults::default(), KosSettings { deferred_completion: Duration::from_millis(deferred_ms) });
    service.seed_if_empty().await.expect("seed");
    service.seed_if_empty().await.expect("seeding twice changes nothing");
    service
}

#[tokio::test]
async fn an_order_runs_once_per_request_id() {
    let kos = kos(5_000).await;
    let first = kos.change_product("r1", "01012345678", "PLAN001", "PLAN003").await.expect("order");
    assert_eq!((first.state.as_str(), first.result_code.as_str()), ("COMPLETED", "SUCCESS"));
    assert_eq!(kos.line("01012345678").await.expect("line").product_code, "PLAN003");
    let again = kos.change_product("r1", "01012345678", "PLAN003", "PLAN002").await.expect("same order");
    assert_eq!(again, first, "the order KOS already holds, nothing changed");
    assert_eq!(kos.line("01012345678").await.expect("line").product_code, "PLAN003");
    assert_eq!(kos.order("r1").await.expect("order"), first);
    assert!(matches!(kos.order("nope").await, Err(KosError::NotFound(_))));
}

#[tokio::test]
async fn provisioning_orders_complete_later_and_block_the_line_meanwhile() {
    let kos = kos(300).await;
    let accepted = kos.change_product("r1", "01012345678", "PLAN001", "PLAN004").await.expect("order");
    assert_eq!(accepted.state, "ACCEPTED");
    assert_eq!(kos.line("01012345678").await.expect("line").product_code, "PLAN001", "not yet");
    let second = kos.change_product("r2", "01012345678", "PLAN001", "PLAN002").await.expect("order");
    assert_eq!((second.state.as_str(), second.result_code.as_str()), ("REJECTED", "ORDER_IN_PROGRESS"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let done = kos.order("r1").await.expect("order");
    assert_eq!((done.state.as_str(), done.result_code.as_str()), ("COMPLETED", "SUCCESS"));
    assert_eq!(kos.line("01012345678").await.expect("line").product_code, "PLAN004");
}

#[tokio::test]
async fn refusals_are_recorded_with_their_reason() {
    let kos = kos(5_000).await;
    let cases = [
        ("a", "01087654321", "PLAN002", "PLAN001", "LINE_NOT_ACTIVE"),
        ("b", "01012345678", "PLAN001", "PLAN009", "PRODUCT_NOT_ON_SALE"),
        ("c", "01012345678", "PLAN001", "PLAN101", "OPERATOR_MISMATCH"),
        ("d", "01012345678", "PLAN002", "PLAN003", "PRODUCT_MISMATCH"),
        ("e", "01012345678", "PLAN001", "PLAN001", "SAME_PRODUCT"),
        ("f", "01012345678", "PLAN001", "NOPE", "PRODUCT_NOT_FOUND"),
    ];
    for (id, line, current, target, code) in cases {
        let order = kos.change_product(id, line, current, target).await.expect("order");
        assert_eq!((order.state.as_str(), order.result_code.as_str()), ("REJECTED", code), "{target}");
    }
    assert!(matches!(kos.change_product("g", "01000000000", "PLAN001", "PLAN002").await, Err(KosError::NotFound(_))));
    assert_eq!(kos.line("01012345678").await.expect("line").product_code, "PLAN001");
    let lines = kos.customer_lines("user001").await.expect("lines");
    assert_eq!(lines.iter().map(|l| l.line_number.as_str()).collect::<Vec<_>>(), ["01012345678", "01087654321"]);
    assert!(kos.customer_lines("user999").await.expect("lines").is_empty());
    assert_eq!(kos.products("MVNO002", false).await.expect("products").len(), 3);
}

#[tokio::test]
async fn faults_fail_calls_until_cleared() {
    let faults = Faults::new(FaultSettings { down: true, ..FaultSettings::default() });
    assert_eq!(faults.inject().await.expect_err("down").code(), tonic::Code::Unavailable);
    faults.set(FaultSettings { error_rate: 5.0, ..FaultSettings::default() });
    assert_eq!(faults.get().error_rate, 1.0, "clamped");
    assert_eq!(faults.inject().await.expect_err("always failing").code(), tonic::Code::Unavailable);
    faults.set(FaultSettings::default());
    assert!(faults.inject().await.is_ok());
}
