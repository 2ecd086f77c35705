//! The binary: logging to stderr, the async runtime, the panic hook, and the exit code the
//! command returned. Everything else is the library's.

use std::process::ExitCode;

use clap::Parser;

use kong_rehearse::cli::Cli;
use kong_rehearse::error::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr only; stdout carries the report alone.
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "kong_rehearse=debug,warn",
        _ => "kong_rehearse=trace,warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    // A panic is a defect of the tool: say so, and exit with the internal-error code rather
    // than the 101 of an unwinding main, which a CI job could read as a verdict.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "kong-rehearse: internal error: {info}. This is a bug in kong-rehearse, not a \
             verdict on your database; please report it with the command you ran (rerun with \
             RUST_BACKTRACE=1 for a backtrace). Throwaway servers are cleaned up."
        );
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
    let exit = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let exit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(kong_rehearse::commands::run(cli))
            }))
            .unwrap_or(Exit::Internal);
            // Let connection tasks end before the throwaway servers they talk to vanish.
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
            exit
        }
        Err(e) => {
            eprintln!("kong-rehearse: error: cannot start the async runtime: {e}");
            Exit::Environment
        }
    };
    kong_rehearse::throwaway::guard::settle();
    exit.into()
}
