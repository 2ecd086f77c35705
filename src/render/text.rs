//! Text report (the default on a terminal).

use std::fmt::Write as _;
use std::io::Write;

use crate::rehearsal::Report;

const GREEN: &str = "32";
const RED: &str = "31";

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[1;{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The report for a person at a terminal: verdict first, then problems with their fixes,
/// phases, migrations, quirks, counts, schema changes, rollback, warnings.
pub fn write(w: &mut dyn Write, r: &Report, color: bool) -> std::io::Result<()> {
    let mut s = String::new();
    let total: u64 = r.phases.iter().map(|p| p.duration_ms).sum();
    if r.verdict == "pass" {
        let _ = writeln!(
            s,
            "{}: the Kong 2.8.5 → 3.4.2 upgrade of {} rehearsed cleanly ({total} ms)",
            paint("PASS", GREEN, color),
            r.source
        );
    } else {
        let _ = writeln!(
            s,
            "{} (exit {}): {} problem(s) in the rehearsal of {}",
            paint("FAIL", RED, color),
            r.exit_code,
            r.problems.len(),
            r.source
        );
    }
    for p in &r.problems {
        let _ = writeln!(s, "  {}", p.to_text());
    }
    let _ = writeln!(
        s,
        "\nphases: {}",
        r.phases
            .iter()
            .map(|p| format!("{} {} ms", p.phase, p.duration_ms))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    if r.restore.rows > 0 {
        let _ = writeln!(
            s,
            "restore: {} rows, {:.1} MB/s, {:.0} rows/s",
            r.restore.rows, r.restore.mb_per_s, r.restore.rows_per_s
        );
    }
    if !r.migrations.is_empty() {
        match r.forecast.db_timeout_s {
            // The forecast watched the steps: this list is also its timeline.
            Some(t) => {
                let _ = writeln!(
                    s,
                    "\nmigrations (timeline: each step, its time, the tables it locked and how; --db-timeout {t} s):"
                );
            }
            None => {
                let _ = writeln!(s, "\nmigrations:");
            }
        }
        for m in &r.migrations {
            let _ = writeln!(
                s,
                "  {:<8} {:<36} {:<6} {:>6} ms{}",
                m.phase,
                format!("{}/{}", m.subsystem, m.migration),
                m.status,
                m.duration_ms,
                if m.rows_rewritten > 0 {
                    format!("  {} row(s) rewritten", m.rows_rewritten)
                } else {
                    String::new()
                }
            );
            for l in super::felt_locks(m) {
                let _ = writeln!(s, "           {l}");
            }
        }
    }
    forecast(&mut s, r);
    if let Some(f) = &r.failure {
        let _ = writeln!(s, "\nleft behind (schema_meta after the failure):");
        if let Some(why) = &f.schema_meta_unreadable {
            let _ = writeln!(s, "  could not be read: {why}");
        }
        for row in &f.schema_meta {
            let _ = writeln!(
                s,
                "  {:<22} pending={:?} last_executed={:?}",
                row.subsystem,
                row.pending.clone().unwrap_or_default(),
                row.last_executed
            );
        }
    }
    if !r.quirks.is_empty() {
        let _ = writeln!(
            s,
            "\nKong quirks reproduced (production will show them too):"
        );
        for (q, n) in &r.quirks {
            let _ = writeln!(s, "  {q}: {n} row(s)");
        }
    }
    if !r.counts.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<32} {:>9} {:>9} {:>9}  ok",
            "table", "before", "after", "expected"
        );
        let show = |v: Option<i64>| {
            v.map(|x| {
                if x < 0 {
                    "present".to_string()
                } else {
                    x.to_string()
                }
            })
            .unwrap_or_else(|| "-".into())
        };
        for c in &r.counts {
            let _ = writeln!(
                s,
                "{:<32} {:>9} {:>9} {:>9}  {}{}",
                c.table,
                show(c.before),
                show(c.after),
                show(c.expected),
                if c.ok { "yes" } else { "NO" },
                c.rule
                    .as_deref()
                    .map(|r| format!("  ({r})"))
                    .unwrap_or_default()
            );
        }
    }
    if !r.schema_changes.is_empty() {
        let count = |c: &str, o: &str| {
            r.schema_changes
                .iter()
                .filter(|x| x.change == c && x.object == o)
                .count()
        };
        let _ = writeln!(
            s,
            "\nschema changes vs the source: tables +{} -{}, columns +{} -{}, constraints +{} -{}, indexes +{} -{}, triggers +{} -{}, functions +{}",
            count("added", "table"), count("removed", "table"),
            count("added", "column"), count("removed", "column"),
            count("added", "constraint"), count("removed", "constraint"),
            count("added", "index"), count("removed", "index"),
            count("added", "trigger"), count("removed", "trigger"),
            count("added", "function"),
        );
    }
    if !r.reference_diff.is_empty() {
        let _ = writeln!(
            s,
            "\nschema diff against the Kong 3.4.2 reference:\n{}",
            r.reference_diff
        );
    }
    if !r.runtime_hazards.is_empty() && r.exit_code != 3 {
        let _ = writeln!(
            s,
            "\nruntime hazards ({}; warnings, `--strict` makes them failures):",
            r.runtime_hazards_total.max(r.runtime_hazards.len())
        );
        for f in &r.runtime_hazards {
            let _ = writeln!(s, "  {}", f.to_text());
        }
    }
    if !r.rollback.is_empty() {
        let _ = writeln!(s, "\nrollback rehearsal:");
        for o in &r.rollback {
            let _ = writeln!(
                s,
                "  {:?}: {} ({} pg_restore error(s), {} difference(s) from the pre-upgrade database, {} ms)\n    command: {}",
                o.method,
                if o.exact { "restores the 2.8 database exactly" } else { "does NOT restore the 2.8 database" },
                o.restore_errors,
                o.differences.len(),
                o.duration_ms,
                o.command
            );
            for d in o.differences.iter().take(12) {
                let _ = writeln!(s, "    - {}", d.message);
            }
            if o.differences.len() > 12 {
                let _ = writeln!(
                    s,
                    "    - … {} more (see the JSON report)",
                    o.differences.len() - 12
                );
            }
            if !o.explanation.is_empty() {
                let _ = writeln!(s, "    why: {}", o.explanation);
            }
        }
        if let Some(rec) = &r.rollback_recommendation {
            let _ = writeln!(s, "  recommendation: {rec}");
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(s, "\nwarnings:");
        for w in &r.warnings {
            let _ = writeln!(s, "  {w}");
        }
    }
    if let Some(k) = &r.kept {
        let _ = writeln!(s, "\n{k}");
    }
    w.write_all(s.as_bytes())
}

/// The forecast's sections: the 2.8 traffic's waits, and each interrupted-and-rerun copy.
fn forecast(s: &mut String, r: &Report) {
    let f = &r.forecast;
    if !f.workload.is_empty() {
        let _ = writeln!(
            s,
            "\n2.8 traffic during the upgrade (--workload):\n  {:<48} {:<22} {:>6} {:>10}  blocked by",
            "query", "table", "runs", "max wait"
        );
        for c in &f.workload {
            let _ = writeln!(
                s,
                "  {:<48} {:<22} {:>6} {:>7} ms  {}{}",
                c.query,
                c.table,
                c.runs,
                c.max_wait_ms,
                c.blocked_by.as_deref().unwrap_or("-"),
                c.first_error
                    .as_deref()
                    .map(|e| format!("  ({} error(s), first: {e})", c.errors))
                    .unwrap_or_default()
            );
        }
    }
    if !f.interrupts.is_empty() {
        let _ = writeln!(s, "\ninterrupted and rerun (--interrupt):");
        for i in &f.interrupts {
            let _ = writeln!(
                s,
                "  {}: cut at {}; rerun: {}\n    {}",
                i.step,
                i.at,
                if i.rerun.is_empty() {
                    "nothing".to_string()
                } else {
                    i.rerun.join(", then ")
                },
                if i.same_as_clean {
                    "same end state as the clean rehearsal".to_string()
                } else {
                    format!(
                        "NOT the clean end state: {} difference(s)",
                        i.differences.len()
                    )
                }
            );
            for d in i.differences.iter().take(12) {
                let _ = writeln!(s, "    - {}", d.message);
            }
            if i.differences.len() > 12 {
                let _ = writeln!(
                    s,
                    "    - … {} more (see the JSON report)",
                    i.differences.len() - 12
                );
            }
            let _ = writeln!(
                s,
                "    recovery: {}{}",
                i.recovery,
                match i.recovery_verified {
                    Some(true) =>
                        " (checked on the interrupted copy: it then equals the clean rehearsal)",
                    Some(false) => " (checked on the interrupted copy: differences remain)",
                    None => "",
                }
            );
        }
    }
}
