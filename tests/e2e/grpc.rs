//! The User Service over gRPC, as other services and grpcurl users call it: same rules, same
//! errors (structured details), tokens required on direct calls too, reflection and health.

use contracts::proto::google::rpc::Status as RpcStatus;
use contracts::proto::platform::v1::ErrorDetail;
use contracts::proto::user::v1::user_service_client::UserServiceClient;
use contracts::proto::user::v1::{LoginRequest, RefreshTokenRequest, ValidateTokenRequest};
use prost::Message;

use crate::support::stack::{Backend, Stack};

fn detail(status: &tonic::Status) -> ErrorDetail {
    let rpc = RpcStatus::decode(status.details()).expect("google.rpc.Status details");
    let any = rpc.details.first().expect("one detail");
    assert!(any.type_url.ends_with("platform.v1.ErrorDetail"), "{}", any.type_url);
    ErrorDetail::decode(any.value.as_slice()).expect("ErrorDetail")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_validate_over_grpc() {
    let stack = Stack::start(&Backend::Embedded).await;
    let mut client = UserServiceClient::connect(format!("http://{}", stack.grpc("user"))).await.expect("connect");

    let login = client
        .login(LoginRequest { username: "user001".into(), password: "P@ssw0rd123!".into() })
        .await
        .expect("login")
        .into_inner();
    assert_eq!(login.user.as_ref().map(|u| u.name.as_str()), Some("홍길동"));

    let wrong = client
        .login(LoginRequest { username: "user001".into(), password: "wrong-password".into() })
        .await
        .expect_err("wrong password");
    assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
    let wrong_detail = detail(&wrong);
    assert_eq!((wrong_detail.code.as_str(), wrong_detail.http_status), ("AUTHENTICATION_FAILED", 401));

    // The service checks the spec's limits itself: no gateway in front here.
    let short = client
        .login(LoginRequest { username: "ab".into(), password: "P@ssw0rd123!".into() })
        .await
        .expect_err("too short");
    assert_eq!(short.code(), tonic::Code::InvalidArgument);
    assert_eq!(detail(&short).code, "VALIDATION_ERROR");
    let long = client
        .login(LoginRequest { username: "user001".into(), password: "p".repeat(101) })
        .await
        .expect_err("too long");
    assert_eq!(long.code(), tonic::Code::InvalidArgument, "password max_length 100 comes from the contract");
    // The spec puts no length on refreshToken: an empty one is an invalid token, as on REST.
    let empty_refresh = client
        .refresh_token(RefreshTokenRequest { refresh_token: String::new() })
        .await
        .expect_err("empty");
    assert_eq!(empty_refresh.code(), tonic::Code::Unauthenticated);
    let empty_detail = detail(&empty_refresh);
    assert_eq!((empty_detail.code.as_str(), empty_detail.http_status), ("INVALID_TOKEN", 401));

    // No token, forged identity headers: refused.
    let mut anonymous = tonic::Request::new(ValidateTokenRequest { include_user_info: true });
    anonymous.metadata_mut().insert("x-user-id", "user001".parse().expect("metadata"));
    let refused = client.validate_token(anonymous).await.expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert_eq!(detail(&refused).code, "INVALID_TOKEN");

    let mut authorized = tonic::Request::new(ValidateTokenRequest { include_user_info: true });
    let bearer = format!("Bearer {}", login.access_token);
    authorized.metadata_mut().insert("authorization", bearer.parse().expect("metadata"));
    let valid = client.validate_token(authorized).await.expect("valid").into_inner();
    assert!(valid.valid);
    assert_eq!(valid.user.map(|u| u.department), Some(Some("개발팀".into())));
    stack.stop().await;
}

/// grpcurl against the running service: reflection lists the service, and a login works.
/// Runs when `GRPCURL` names the binary (`make test` installs it into .venv and sets it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_and_logs_in() {
    let Some(grpcurl) = std::env::var_os("GRPCURL") else {
        println!("GRPCURL is not set: skipping the grpcurl check (make test sets it)");
        return;
    };
    let stack = Stack::start(&Backend::Embedded).await;
    let address = stack.grpc("user").to_string();
    let run = |args: Vec<String>| {
        let grpcurl = grpcurl.clone();
        async move {
            let output = tokio::process::Command::new(grpcurl).args(args).output().await.expect("grpcurl runs");
            (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
        }
    };
    let (ok, listed, err) = run(vec!["-plaintext".into(), address.clone(), "list".into()]).await;
    assert!(ok, "grpcurl list failed: {err}");
    for service in ["user.v1.UserService", "grpc.health.v1.Health"] {
        assert!(listed.contains(service), "{service} not listed:\n{listed}");
    }
    let body = r#"{"username":"user001","password":"P@ssw0rd123!"}"#.to_owned();
    let (ok, out, err) = run(vec!["-plaintext".into(), "-d".into(), body, address.clone(), "user.v1.UserService/Login".into()]).await;
    assert!(ok, "grpcurl login failed: {err}");
    let reply: serde_json::Value = serde_json::from_str(&out).expect("grpcurl prints JSON");
    assert_eq!(reply["user"]["name"], "홍길동");
    let (ok, out, _) = run(vec!["-plaintext".into(), address, "grpc.health.v1.Health/Check".into()]).await;
    assert!(ok && out.contains("SERVING"), "{out}");
    stack.stop().await;
}
