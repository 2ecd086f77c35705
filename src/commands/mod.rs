//! One function per command: wiring between the CLI, the domain modules and the report, and
//! the one place a result becomes output and an exit code. No SQL and no domain logic here.

mod backup;
mod fixture;
mod run;
mod state;

use std::io::Write;

use crate::cli::{Cli, Command, Format, ThrowawayArgs};
use crate::error::{Error, Exit};
use crate::report::{self, Problem, Progress};
use crate::throwaway::{self, Backend};

pub async fn run(cli: Cli) -> Exit {
    let progress = Progress { quiet: cli.quiet };
    // Kong's own settings for the database (`--kong-conf`, KONG_PG_*), handed to the commands
    // that read one and read only when their command line names none.
    let kong_conf = cli.kong_conf.as_deref();
    let (name, result) = match &cli.command {
        Command::Fixture(a) => ("fixture", fixture::run(a, progress).await),
        Command::Status(a) => ("status", state::status(a, kong_conf).await),
        Command::Plan(a) => ("plan", state::plan(a, kong_conf).await),
        Command::Run(a) => ("run", run::run(a, kong_conf, progress).await),
        Command::Demo(a) => ("demo", run::demo(a, progress).await),
        Command::LintConf(a) => ("lint-conf", state::lint_conf(a).await),
        Command::LintDeclarative(a) => ("lint-declarative", state::lint_declarative(a).await),
        Command::RollbackCheck(a) => ("rollback-check", state::rollback_check(a, kong_conf).await),
        Command::Snapshot(a) => ("snapshot", backup::snapshot(a, kong_conf, progress).await),
        Command::VerifyBackup(a) => ("verify-backup", backup::verify_backup(a, progress).await),
    };
    progress.finish();
    let mut stdout = std::io::stdout().lock();
    let (exit, written) = match result {
        Ok(out) => {
            let written = match cli.format {
                Format::Json => report::write_json(
                    &mut stdout,
                    &report::json_envelope(name, out.exit, &out.problems, out.json),
                ),
                Format::Text => stdout.write_all(out.text.as_bytes()),
            };
            (out.exit, written)
        }
        Err(e) => {
            let exit = e.exit();
            let written = match cli.format {
                Format::Json => report::write_json(
                    &mut stdout,
                    &report::json_envelope(
                        name,
                        exit,
                        &[Problem::from_error(&e)],
                        serde_json::json!({}),
                    ),
                ),
                Format::Text => writeln!(std::io::stderr(), "kong-rehearse: error: {e}"),
            };
            (exit, written)
        }
    };
    // A report that did not reach its reader must not look like a verdict: a CI job that
    // reads an empty stdout with exit 0 would take it for a pass.
    match written.and_then(|()| stdout.flush()) {
        Ok(()) => exit,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "kong-rehearse: error: cannot write the report to standard output ({e}); the \
                 verdict was exit code {}. Check that stdout is writable (a closed pipe, a full \
                 disk) and run again.",
                exit as u8
            );
            Exit::Environment
        }
    }
}

/// What a command hands back for rendering.
pub struct Outcome {
    pub exit: Exit,
    pub problems: Vec<Problem>,
    pub text: String,
    pub json: serde_json::Value,
}

pub fn throwaway_options(a: &ThrowawayArgs) -> Result<throwaway::Options, Error> {
    Ok(throwaway::Options {
        backend: Backend::parse(&a.target)?,
        pg_bin: a.pg_bin.clone(),
        pg_user: Some(a.pg_user.clone()),
        keep: a.keep,
    })
}

/// The role Kong's migrations run as: `pg_user` of the production kong.conf or KONG_PG_USER,
/// Kong's default `kong` when a kong.conf is given without it; None when nothing says.
pub(crate) fn kong_pg_user(kong_conf: Option<&std::path::Path>) -> Result<Option<String>, Error> {
    let conf = kong_conf
        .map(|p| {
            crate::kong::conf::load(p).map_err(|e| Error::io("cannot read the kong.conf", p, e))
        })
        .transpose()?;
    let s = crate::kong::conf::pg_settings(conf.as_ref(), &|k| std::env::var(k).ok());
    Ok(match (&s.user, conf.is_some()) {
        (Some(u), _) => Some(u.clone()),
        (None, true) => s.with_kong_defaults().user,
        (None, false) => None,
    })
}
