//! One renderer per output format, each writing to any `io::Write`: text (people), JSON
//! (machines), JUnit XML (CI test reports) and Markdown (CI step summaries, PR comments).
//! Renderers only format a finished report: they never talk to a database or decide a verdict.

pub mod junit;
pub mod markdown;
pub mod text;

use std::io::{IsTerminal, Write};

use crate::rehearsal::Report;

/// Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org).
pub fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The locks of a step that 2.8 traffic feels, one line per mode, strongest first, e.g.
/// `AccessExclusiveLock on plugins 2704 ms, targets 3 ms: blocks 2.8 reads and writes`.
/// Weaker locks (reads, row writes) are in the JSON report only.
pub(crate) fn felt_locks(m: &crate::kong::runner::builtin::StepLog) -> Vec<String> {
    use crate::rehearsal::forecast::locks::effect_on_28;
    let mut out: Vec<(crate::kong::runner::builtin::LockMode, Vec<String>)> = vec![];
    // The step log lists locks strongest first, so equal modes are adjacent.
    for l in m.locks.iter().filter(|l| {
        effect_on_28(l.mode) != effect_on_28(crate::kong::runner::builtin::LockMode::RowExclusive)
    }) {
        let t = format!("{} {} ms", l.table, l.held_ms);
        match out.last_mut() {
            Some((mode, tables)) if *mode == l.mode => tables.push(t),
            _ => out.push((l.mode, vec![t])),
        }
    }
    out.into_iter()
        .map(|(mode, tables)| {
            format!(
                "{} on {}: {}",
                mode.as_str(),
                tables.join(", "),
                effect_on_28(mode)
            )
        })
        .collect()
}

/// The JSON report: the shared envelope (`schema_version`, `verdict`, `exit_code`,
/// `problems[]`) with the rehearsal's fields.
pub fn json(w: &mut dyn Write, command: &str, r: &Report) -> std::io::Result<()> {
    let body = serde_json::to_value(r).map_err(std::io::Error::other)?;
    let v = crate::report::json_envelope(command, r.exit(), &r.problems, body);
    crate::report::write_json(w, &v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::runner::builtin::{LockHeld, LockMode, StepLog};
    use crate::kong::state::SubsystemState;
    use crate::rehearsal::forecast::workload::ClassReport;
    use crate::rehearsal::forecast::Interrupt;
    use crate::rehearsal::verify::CountRow;
    use crate::rehearsal::{PhaseTime, Report};
    use crate::report::{Kind, Problem};

    fn step(sub: &str, m: &str, phase: &'static str, ms: u64) -> StepLog {
        StepLog {
            subsystem: sub.into(),
            migration: m.into(),
            phase,
            status: "ok",
            duration_ms: ms,
            statements: 3,
            rows_rewritten: 0,
            quirks: Default::default(),
            locks: vec![],
        }
    }

    fn lock(table: &str, mode: LockMode, held_ms: u64) -> LockHeld {
        LockHeld {
            table: table.into(),
            mode,
            held_ms,
            observed: true,
            predicted: true,
        }
    }

    fn state(sub: &str) -> SubsystemState {
        SubsystemState {
            subsystem: sub.into(),
            known: true,
            executed: vec![],
            pending: vec![],
            new: vec![],
            missing: vec![],
            history: vec![],
            verdict: "ok".into(),
        }
    }

    fn count(t: &str, before: i64, after: i64, expected: i64) -> CountRow {
        CountRow {
            table: t.into(),
            before: Some(before),
            after: Some(after),
            expected: Some(expected),
            rule: None,
            ok: after == expected,
        }
    }

    /// A deterministic report shaped like a real run (no clocks, paths or ids).
    fn report(pass: bool) -> Report {
        let mut r = Report {
            verdict: if pass { "pass" } else { "fail" },
            exit_code: if pass { 0 } else { 1 },
            source: "kong-2.8.dump".into(),
            runner: "builtin",
            phases: [
                "restore",
                "judge",
                "before",
                "hazards",
                "up",
                "verify_up",
                "finish",
                "verify_finish",
            ]
            .iter()
            .enumerate()
            .map(|(i, p)| PhaseTime {
                phase: p,
                duration_ms: 10 * (i as u64 + 1),
            })
            .collect(),
            state: vec![state("core"), state("acme")],
            migrations: vec![
                step("core", "016_280_to_300", "up", 12),
                step("acme", "001_280_to_300", "up", 3),
                step("core", "016_280_to_300", "teardown", 5),
            ],
            counts: vec![
                count("routes", 15, 15, 15),
                count("sessions", 60, if pass { 60 } else { 57 }, 60),
            ],
            warnings: vec!["compatibility: `up` drops table ttls".into()],
            ..Default::default()
        };
        r.quirks.insert("empty_array_became_object".into(), 4);
        r.forecast.db_timeout_s = Some(60);
        r.migrations[0].locks = vec![
            lock("upstreams", LockMode::AccessExclusive, 9),
            lock("workspaces", LockMode::ShareRowExclusive, 3),
            lock("routes", LockMode::RowExclusive, 0),
        ];
        if !pass {
            r.forecast.workload = vec![ClassReport {
                query: "plugins iterator rebuild".into(),
                table: "plugins".into(),
                runs: 120,
                max_wait_ms: 2730,
                blocked_by: Some("core/019_320_to_330:up".into()),
                errors: 0,
                first_error: None,
            }];
            r.forecast.interrupts = vec![Interrupt {
                step: "core/016_280_to_300:up_f".into(),
                at: "row 8 of 15 (5 row(s) written and committed before the cut)".into(),
                rerun: vec!["kong migrations up".into(), "kong migrations finish".into()],
                same_as_clean: false,
                differences: vec![Problem::new(
                    Kind::ContentMismatch,
                    r#"routes 16a6 (name route-2): paths = ["~~/v1/(?<id>[a-z]+)"] (clean rehearsal: ["~/v1/(?<id>[a-z]+)"])"#,
                )
                .object("table routes")],
                recovery: "Restore the pre-upgrade backup and run the upgrade again.".into(),
                recovery_verified: Some(true),
                duration_ms: 700,
            }];
            r.problems.push(
                Problem::new(
                    Kind::CountMismatch,
                    "table sessions: 60 rows before, 57 after, 60 expected",
                )
                .object("table sessions")
                .in_phase("verify_finish")
                .fix("Look for triggers on this table in the source."),
            );
            r.problems.push(
                Problem::new(Kind::SchemaMismatch, "after `finish`, column routes.expression changed: text → character varying(200)")
                    .object("column expression")
                    .in_phase("verify_finish")
                    .fix("See the schema diff."),
            );
        }
        r.exit = Some(if pass {
            crate::error::Exit::Ok
        } else {
            crate::error::Exit::Verification
        });
        r
    }

    fn render(f: impl Fn(&mut dyn Write, &Report) -> std::io::Result<()>, pass: bool) -> String {
        let mut buf = Vec::new();
        f(&mut buf, &report(pass)).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn every_format_on_a_passing_and_a_failing_run() {
        for pass in [true, false] {
            let name = if pass { "pass" } else { "fail" };
            insta::assert_snapshot!(
                format!("text_{name}"),
                render(|w, r| text::write(w, r, false), pass)
            );
            insta::assert_snapshot!(
                format!("json_{name}"),
                render(|w, r| json(w, "run", r), pass)
            );
            insta::assert_snapshot!(format!("junit_{name}"), render(junit::write, pass));
            insta::assert_snapshot!(format!("markdown_{name}"), render(markdown::write, pass));
        }
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render(|w, r| text::write(w, r, false), true).contains('\x1b'));
        assert!(render(|w, r| text::write(w, r, true), true).contains("\x1b[1;32mPASS"));
    }

    #[test]
    fn junit_failures_carry_the_message() {
        let x = render(junit::write, false);
        assert!(x.contains(r#"failures="2""#), "{x}");
        assert!(
            x.contains("table sessions: 60 rows before, 57 after"),
            "{x}"
        );
    }
}
