//! `platform [all | gateway | serve <service>…]`: one binary, many roles.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::cli::run(std::env::args().skip(1).collect()).await
}
