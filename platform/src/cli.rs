//! The command line: `platform [all | gateway | serve <service>…]`.

use crate::app;
use crate::config::{APIS, Config, Role, Source};

fn parse_role(args: &[String]) -> Result<Role, String> {
    match args.first().map(String::as_str) {
        None | Some("all") => Ok(Role::All),
        Some("gateway") => Ok(Role::Gateway),
        Some("serve") if args.len() > 1 => Ok(Role::Serve(args[1..].to_vec())),
        Some(other) => Err(format!(
            "unknown role {other:?}\nusage: platform [all | gateway | serve <service>...]"
        )),
    }
}

/// Runs the platform with the given arguments (without the program name) until Ctrl-C.
pub async fn run(args: Vec<String>) -> std::process::ExitCode {
    let _logs = crate::logging::init();

    let role = match parse_role(&args) {
        Ok(role) => role,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let config = match Source::from_env().and_then(|source| Config::load(role, &source)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::from(2);
        }
    };
    let running = match app::start(config).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("failed to start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };

    // A wildcard bind is reachable as localhost: print the address a user can paste.
    let shown = |address: &std::net::SocketAddr| {
        if address.ip().is_unspecified() { format!("localhost:{}", address.port()) } else { address.to_string() }
    };
    for api in APIS {
        if let Some(address) = running.http.get(*api) {
            let base = running.base_paths.get(*api).cloned().unwrap_or_default();
            println!("REST  {api:<15} http://{}{base}", shown(address));
        }
    }
    for (service, address) in &running.grpc {
        println!("gRPC  {service:<15} {}  (reflection + health)", shown(address));
    }
    if let Some(address) = &running.payment_sandbox {
        println!("Payment sandbox (Stripe-shaped API, test cards) http://{}", shown(address));
    }
    println!("Ctrl-C stops.");

    let _ = tokio::signal::ctrl_c().await;
    println!("stopping…");
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}
