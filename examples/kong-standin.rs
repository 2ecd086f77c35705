//! A STAND-IN for the `kong` command, used only by the tests of `--runner kong`. It is not
//! Kong: it follows the contract of `kong migrations bootstrap|up|finish|list` (arguments,
//! KONG_PG_* environment, Kong's output lines and exit codes) and does the work with
//! kong-rehearse's built-in runner. Real rehearsals with `--runner kong` run a real Kong.
//!
//! Test switches: KONG_STANDIN_FAIL=up|finish makes that command fail after its first
//! migration, printing an `Error:` line and exiting 1, as Kong does.

use std::process::ExitCode;

use kong_rehearse::kong::lts::LtsCatalog;
use kong_rehearse::kong::release::embedded_text;
use kong_rehearse::kong::runner::builtin::{Builtin, RunError, StepLog};
use kong_rehearse::kong::schema_meta::{self, Record};
use kong_rehearse::pg::conn::{ConnSpec, Endpoint};
use kong_rehearse::report::Progress;

fn env(k: &str, default: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| default.to_string())
}

fn target() -> ConnSpec {
    ConnSpec {
        endpoint: Endpoint::Tcp(env("KONG_PG_HOST", "127.0.0.1")),
        port: env("KONG_PG_PORT", "5432").parse().unwrap_or(5432),
        user: env("KONG_PG_USER", "kong"),
        password: std::env::var("KONG_PG_PASSWORD").ok(),
        dbname: env("KONG_PG_DATABASE", "kong"),
        params: Default::default(),
    }
}

fn print_steps(db: &str, cat: &LtsCatalog, logs: &[StepLog]) {
    let mut last = "";
    for l in logs {
        if l.subsystem != last {
            println!("migrating {} on database '{db}'...", l.subsystem);
            last = &l.subsystem;
        }
        let has_teardown = cat
            .subsystem(&l.subsystem)
            .and_then(|s| s.step(&l.migration))
            .is_some_and(|s| s.has_teardown);
        let state = if l.phase == "up" && has_teardown {
            "pending"
        } else {
            "executed"
        };
        println!("{} migrated up to: {} ({state})", l.subsystem, l.migration);
    }
    println!("{} migrations processed", logs.len());
}

async fn main_async() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("migrations") {
        return Err("this stand-in only implements `kong migrations ...`".into());
    }
    let cmd = args.get(1).map(String::as_str).unwrap_or("");
    let db = target();
    let client = db.connect().await.map_err(|e| e.to_string())?;
    let bootstrapped: bool = client
        .query_one("SELECT to_regclass('schema_meta') IS NOT NULL", &[])
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    let cat = LtsCatalog::load().map_err(|e| e.to_string())?;
    let runner = Builtin {
        catalog: &cat,
        progress: Progress { quiet: true },
    };
    let fail = std::env::var("KONG_STANDIN_FAIL").unwrap_or_default();
    match cmd {
        "bootstrap" => {
            if bootstrapped {
                println!("Database already bootstrapped");
                return Ok(());
            }
            let sql = embedded_text("kong-3.4.2/schema.sql").map_err(|e| e.to_string())?;
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| e.to_string())?;
            client
                .batch_execute("SET search_path TO public")
                .await
                .map_err(|e| e.to_string())?;
            let mut n = 0;
            for sub in &cat.subsystems {
                for m in &sub.migrations_3_4 {
                    client
                        .execute(Record::Executed.sql(), &[&sub.name, m])
                        .await
                        .map_err(|e| e.to_string())?;
                    n += 1;
                }
            }
            println!("bootstrapping database...\n{n} migrations processed\nDatabase is up-to-date");
            Ok(())
        }
        "up" | "finish" => {
            if !bootstrapped {
                return Err("Database needs bootstrapping or is older than Kong 1.0.".into());
            }
            if fail == cmd {
                return Err(format!(
                    "[postgres] stand-in failure requested for `{cmd}` (KONG_STANDIN_FAIL)"
                ));
            }
            let result = if cmd == "up" {
                runner.up(&client).await
            } else {
                runner.finish(&client).await
            };
            match result {
                Ok(logs) => {
                    print_steps(&db.dbname, &cat, &logs);
                    if cmd == "up" {
                        println!("Database has pending migrations; run 'kong migrations finish' when ready");
                    }
                    Ok(())
                }
                Err(RunError::Failed(f)) => {
                    print_steps(&db.dbname, &cat, &f.completed);
                    Err(format!("{}/{}: {}", f.subsystem, f.migration, f.error))
                }
                Err(RunError::Env(e)) => Err(e.to_string()),
            }
        }
        "list" => {
            let rows = schema_meta::read(&client)
                .await
                .map_err(|e| e.to_string())?;
            println!("Executed migrations:");
            for r in rows {
                println!(
                    "{}: {}",
                    r.subsystem,
                    r.executed.unwrap_or_default().join(", ")
                );
            }
            Ok(())
        }
        other => Err(format!("unknown command: migrations {other}")),
    }
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    match rt.block_on(main_async()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}
