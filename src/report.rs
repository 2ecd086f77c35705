//! What every command prints: a JSON envelope with `verdict` and `problems[]` (one shared
//! vocabulary of kinds), or text. Progress goes to stderr, never stdout. Knows no database
//! and no Kong: every room hands its problems here in this one shape.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Exit};

pub const SCHEMA_VERSION: u32 = 1;

/// The shared vocabulary of problem kinds; every command's `problems[].kind` is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OutOfOrder,
    Partial,
    NotLtsSource,
    UnknownMigration,
    Enterprise,
    NotKong,
    Hazard,
    RuntimeHazard,
    MigrationFailed,
    SchemaMismatch,
    CountMismatch,
    ContentMismatch,
    FileMissing,
    FileExtra,
    FileChanged,
    EmptyFile,
    NotADump,
    Truncated,
    Corrupt,
    RestoreFailed,
    ForeignKeyViolation,
    ConstraintNotValid,
    /// A migration step that outlasts Kong's `--db-timeout`: production's migration stops there.
    DbTimeout,
    /// `plugins` rows whose plugin Kong 3.4 will not load (`plugins` / KONG_PLUGINS).
    PluginNotLoaded,
    /// A backup that would run something other than SQL (a psql meta-command).
    UnsafeBackup,
    Usage,
    Environment,
    Internal,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OutOfOrder => "out_of_order",
            Kind::Partial => "partial",
            Kind::NotLtsSource => "not_lts_source",
            Kind::UnknownMigration => "unknown_migration",
            Kind::Enterprise => "enterprise",
            Kind::NotKong => "not_kong",
            Kind::Hazard => "hazard",
            Kind::RuntimeHazard => "runtime_hazard",
            Kind::MigrationFailed => "migration_failed",
            Kind::SchemaMismatch => "schema_mismatch",
            Kind::CountMismatch => "count_mismatch",
            Kind::ContentMismatch => "content_mismatch",
            Kind::FileMissing => "file_missing",
            Kind::FileExtra => "file_extra",
            Kind::FileChanged => "file_changed",
            Kind::EmptyFile => "empty_file",
            Kind::NotADump => "not_a_dump",
            Kind::Truncated => "truncated",
            Kind::Corrupt => "corrupt",
            Kind::RestoreFailed => "restore_failed",
            Kind::ForeignKeyViolation => "foreign_key_violation",
            Kind::ConstraintNotValid => "constraint_not_valid",
            Kind::DbTimeout => "db_timeout",
            Kind::PluginNotLoaded => "plugin_not_loaded",
            Kind::UnsafeBackup => "unsafe_backup",
            Kind::Usage => "usage",
            Kind::Environment => "environment",
            Kind::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    /// The database object concerned (`table routes`, `column targets.cache_key`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// What was expected, what was found.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// The rehearsal phase that found it (`judge`, `hazards`, `verify_up`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'static str>,
}

impl Problem {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            subsystem: None,
            migration: None,
            object: None,
            message: message.into(),
            fix: String::new(),
            phase: None,
        }
    }
    pub fn in_phase(mut self, phase: &'static str) -> Self {
        self.phase = Some(phase);
        self
    }
    pub fn subsystem(mut self, s: &str) -> Self {
        self.subsystem = Some(s.to_string());
        self
    }
    pub fn migration(mut self, m: &str) -> Self {
        self.migration = Some(m.to_string());
        self
    }
    pub fn object(mut self, o: impl Into<String>) -> Self {
        self.object = Some(o.into());
        self
    }
    pub fn fix(mut self, f: impl Into<String>) -> Self {
        self.fix = f.into();
        self
    }

    pub fn from_error(e: &Error) -> Self {
        let kind = match e.exit() {
            Exit::Usage => Kind::Usage,
            Exit::Environment => Kind::Environment,
            Exit::NotEligible => Kind::Partial,
            _ => Kind::Internal,
        };
        Problem::new(kind, e.to_string())
    }

    /// One line (or a few) for the text report.
    pub fn to_text(&self) -> String {
        let mut where_ = String::new();
        if let Some(s) = &self.subsystem {
            where_.push_str(s);
            if let Some(m) = &self.migration {
                where_.push('/');
                where_.push_str(m);
            }
            where_.push_str(": ");
        }
        let mut s = format!("[{}] {where_}{}", self.kind.as_str(), self.message);
        if !self.fix.is_empty() {
            s.push_str("\n    fix: ");
            s.push_str(&self.fix);
        }
        s
    }
}

pub fn verdict_word(exit: Exit) -> &'static str {
    match exit {
        Exit::Ok => "pass",
        Exit::Usage | Exit::Environment | Exit::Internal => "error",
        _ => "fail",
    }
}

/// The one JSON object a command prints with `--format json`.
pub fn json_envelope(command: &str, exit: Exit, problems: &[Problem], body: Value) -> Value {
    let mut v = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "verdict": verdict_word(exit),
        "exit_code": exit as u8,
        "problems": problems,
    });
    if let (Value::Object(m), Value::Object(b)) = (&mut v, body) {
        m.extend(b);
    }
    v
}

pub fn write_json(out: &mut dyn Write, v: &Value) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)
}

/// Progress on stderr (never stdout, so `--format json` output stays one object). On a
/// terminal: a spinner showing the current step and the elapsed time, with finished steps
/// printed above it. Elsewhere (CI logs): one plain line per event. `--quiet`: nothing.
#[derive(Clone, Copy)]
pub struct Progress {
    pub quiet: bool,
}

static SPINNER: std::sync::OnceLock<Option<indicatif::ProgressBar>> = std::sync::OnceLock::new();

fn spinner() -> Option<&'static indicatif::ProgressBar> {
    SPINNER
        .get_or_init(|| {
            use std::io::IsTerminal;
            if !std::io::stderr().is_terminal() {
                return None;
            }
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            Some(pb)
        })
        .as_ref()
}

impl Progress {
    pub fn line(&self, msg: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        match spinner() {
            Some(pb) => {
                pb.println(format!("kong-rehearse: {}", msg.as_ref()));
                pb.set_message(msg.as_ref().to_string());
                // The clock shows how long the current step has been running.
                pb.reset_elapsed();
            }
            // A closed stderr (a CI log collector gone, a pipe closed) must not abort the run.
            None => {
                let _ = writeln!(std::io::stderr(), "kong-rehearse: {}", msg.as_ref());
            }
        }
    }

    /// Clears the spinner before the report is printed.
    pub fn finish(&self) {
        if let Some(Some(pb)) = SPINNER.get() {
            pb.finish_and_clear();
        }
    }
}
