//! What every command prints: a JSON envelope with `verdict` and `problems[]` (one shared
//! vocabulary of kinds), or text. Progress goes to stderr, never stdout.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Exit};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// One of the shared kinds (e.g. `environment`, `usage`, `partial`, `hazard`).
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
}

impl Problem {
    pub fn from_error(e: &Error) -> Self {
        let kind = match e.exit() {
            Exit::Usage => "usage",
            Exit::Environment => "environment",
            _ => "internal",
        };
        Problem {
            kind: kind.into(),
            message: e.to_string(),
            subsystem: None,
            migration: None,
        }
    }
}

pub fn verdict_word(exit: Exit) -> &'static str {
    match exit {
        Exit::Ok => "pass",
        Exit::Usage | Exit::Environment => "error",
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

/// Progress lines on stderr (suppressed by --quiet).
#[derive(Clone, Copy)]
pub struct Progress {
    pub quiet: bool,
}

impl Progress {
    pub fn line(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            // A closed stderr (a CI log collector gone, a pipe closed) must not abort the run.
            let _ = writeln!(std::io::stderr(), "kong-rehearse: {}", msg.as_ref());
        }
    }
}
