//! The platform binary, built inside the test crate so tests that run it as a real process
//! (logs, kill-and-restart) find it with `CARGO_BIN_EXE_platform-e2e` whatever was built before.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::cli::run(std::env::args().skip(1).collect()).await
}
