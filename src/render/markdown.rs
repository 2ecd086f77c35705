//! A short Markdown summary for a GitHub step summary or a pull-request comment.

use std::fmt::Write as _;
use std::io::Write;

use crate::rehearsal::Report;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn write(w: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let mut s = String::new();
    let icon = if r.verdict == "pass" { "✅" } else { "❌" };
    let _ = writeln!(
        s,
        "### {icon} Kong 2.8.5 → 3.4.2 rehearsal: {} (exit {})\n",
        r.verdict.to_uppercase(),
        r.exit_code
    );
    let _ = writeln!(
        s,
        "Source: `{}` · runner: `{}`\n",
        cell(&r.source),
        r.runner
    );
    let _ = writeln!(s, "| phase | time |\n|---|---:|");
    for p in &r.phases {
        let _ = writeln!(s, "| {} | {} ms |", p.phase, p.duration_ms);
    }
    if !r.problems.is_empty() {
        let _ = writeln!(
            s,
            "\n**Problems ({})**\n\n| kind | where | what | fix |\n|---|---|---|---|",
            r.problems.len()
        );
        for p in &r.problems {
            let place = [&p.subsystem, &p.migration, &p.object]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} |",
                p.kind.as_str(),
                cell(&place),
                cell(&p.message),
                cell(&p.fix)
            );
        }
    }
    let ok = r.migrations.iter().filter(|m| m.status == "ok").count();
    let _ = writeln!(s, "\nMigrations: {ok} of {} steps ok.", r.migrations.len());
    forecast(&mut s, r);
    if !r.counts.is_empty() {
        let bad: Vec<_> = r.counts.iter().filter(|c| !c.ok).collect();
        let _ = writeln!(
            s,
            "Tables: {} checked, {} differ from the expected-change model.",
            r.counts.len(),
            bad.len()
        );
        if !bad.is_empty() {
            let _ = writeln!(
                s,
                "\n| table | before | after | expected |\n|---|---:|---:|---:|"
            );
            let show = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
            for c in bad {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    c.table,
                    show(c.before),
                    show(c.after),
                    show(c.expected)
                );
            }
        }
    }
    if !r.quirks.is_empty() {
        let q: Vec<String> = r
            .quirks
            .iter()
            .map(|(k, v)| format!("`{k}` ({v})"))
            .collect();
        let _ = writeln!(
            s,
            "\nKong quirks production will show too: {}.",
            q.join(", ")
        );
    }
    if let Some(rec) = &r.rollback_recommendation {
        let _ = writeln!(s, "\nRollback: {}", cell(rec));
    }
    if !r.runtime_hazards.is_empty() {
        let _ = writeln!(
            s,
            "\nRuntime hazards (warnings): {}.",
            r.runtime_hazards_total.max(r.runtime_hazards.len())
        );
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(
            s,
            "\n<details><summary>{} warning(s)</summary>\n",
            r.warnings.len()
        );
        for x in &r.warnings {
            let _ = writeln!(s, "- {}", cell(x));
        }
        let _ = writeln!(s, "\n</details>");
    }
    w.write_all(s.as_bytes())
}

/// The timeline (step, time, tables locked and how), the 2.8 traffic's waits and the
/// interrupted-and-rerun copies.
fn forecast(s: &mut String, r: &Report) {
    let f = &r.forecast;
    let before = s.len();
    if let Some(t) = f.db_timeout_s {
        let _ = writeln!(
            s,
            "\n**Timeline** (`--db-timeout {t}`)\n\n| step | time | tables locked and how |\n|---|---:|---|"
        );
        for m in &r.migrations {
            let locks = super::felt_locks(m);
            let _ = writeln!(
                s,
                "| {} {}/{} | {} ms | {} |",
                m.phase,
                m.subsystem,
                m.migration,
                m.duration_ms,
                if locks.is_empty() {
                    "none that 2.8 traffic waits on".to_string()
                } else {
                    locks
                        .iter()
                        .map(|l| cell(l))
                        .collect::<Vec<_>>()
                        .join("<br>")
                }
            );
        }
    }
    if !f.workload.is_empty() {
        let _ = writeln!(
            s,
            "\n**2.8 traffic during the upgrade**\n\n| query | table | runs | max wait | blocked by |\n|---|---|---:|---:|---|"
        );
        for c in &f.workload {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} ms | {} |",
                cell(&c.query),
                c.table,
                c.runs,
                c.max_wait_ms,
                c.blocked_by.as_deref().map(cell).unwrap_or_default()
            );
        }
    }
    if !f.interrupts.is_empty() {
        let _ = writeln!(s, "\n**Interrupted and rerun**\n");
        for i in &f.interrupts {
            let _ = writeln!(
                s,
                "- `{}` cut at {}: {}. Recovery: {}",
                i.step,
                cell(&i.at),
                if i.same_as_clean {
                    "the rerun gives the clean end state".to_string()
                } else {
                    format!(
                        "**not** the clean end state ({} difference(s))",
                        i.differences.len()
                    )
                },
                cell(&i.recovery)
            );
        }
    }
    if s.len() > before {
        // A table or list runs on into the next line unless a blank line ends it.
        s.push('\n');
    }
}
