//! The forecast: what the upgrade does to production while it runs. Per step, its time and
//! the table locks it holds (`locks`); Kong's `--db-timeout` against each query it sends;
//! the waits of the 2.8 traffic that keeps running meanwhile (`workload`); and what an
//! interrupted step leaves after an operator's rerun (`interrupt`). It watches the
//! migration from its own connections and never writes to the rehearsal's data.

pub mod interrupt;
pub mod locks;
pub mod workload;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::before::Captured;
use super::Ctx;
use crate::error::{Error, Result};
use crate::kong::runner::builtin::{Hooks, NoHooks, StepLog};
use crate::report::{Kind, Problem};
use locks::{LockSpan, PartRecord, Recorder};
use workload::{ClassReport, Runs};

pub(crate) use interrupt::interrupts;
pub use interrupt::{Choice as InterruptChoice, Interrupt};

/// A wait of 2.8 traffic at least this long is a warning.
pub const WAIT_WARNING: Duration = Duration::from_secs(1);
/// Kong 2.8's default `pg_timeout`: a 2.8 node's query that waits longer fails.
const PG_TIMEOUT_28: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Options {
    /// Kong's `kong migrations --db-timeout`: the socket timeout of each query it sends.
    pub db_timeout: Duration,
    /// Run the 2.8 nodes' traffic on separate connections during `up` and `finish`.
    pub workload: bool,
    pub interrupt: Option<InterruptChoice>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // Kong's own default (kong/cmd/migrations.lua).
            db_timeout: Duration::from_secs(60),
            workload: false,
            interrupt: None,
        }
    }
}

/// The forecast's part of the report (the per-step locks are in `migrations[].locks`).
#[derive(Debug, Default, Serialize)]
pub struct Forecast {
    /// The --db-timeout the steps were held against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_timeout_s: Option<u64>,
    /// With --workload: per 2.8 query class, its runs and worst wait.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workload: Vec<ClassReport>,
    /// With --interrupt: each interrupted-and-rerun copy against the clean rehearsal.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interrupts: Vec<Interrupt>,
}

/// One migration phase under watch: the recorder the runner reports to, the pg_locks
/// sampler and the 2.8 workload, each on its own connection and task.
pub(crate) struct Watch {
    phase: &'static str,
    recorder: Option<Arc<Recorder>>,
    stop: Arc<AtomicBool>,
    sampler: Option<tokio::task::JoinHandle<Result<u64>>>,
    workload: Option<tokio::task::JoinHandle<Vec<Runs>>>,
}

impl Watch {
    /// Starts watching before `phase` (`up` or `finish`) runs on `cap`'s database.
    pub async fn start(ctx: &mut Ctx<'_>, cap: &Captured, phase: &'static str) -> Result<Watch> {
        let opts = &ctx.opts.forecast;
        if ctx.kong.is_some() && opts.interrupt.is_some() {
            return Err(Error::Usage(
                "--interrupt needs the built-in runner (it cuts the connection at an exact row); \
                 drop --runner kong, or drop --interrupt"
                    .into(),
            ));
        }
        if ctx.kong.is_none() {
            // A real Kong binary applies its own --db-timeout; only the built-in runner's
            // steps are held against this one.
            ctx.report.forecast.db_timeout_s = Some(opts.db_timeout.as_secs());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (recorder, sampler) = if ctx.kong.is_none() {
            let row = cap
                .client
                .query_one(crate::pg::sql::forecast::BACKEND, &[])
                .await
                .map_err(|e| Error::db("cannot identify the migration's connection", e))?;
            let (pid, schema): (i32, String) = (row.get(0), row.get(1));
            let watcher = cap.target.connect().await?;
            let rec = Arc::new(Recorder::new(locks::tables(&watcher, &schema).await?));
            let task = tokio::spawn(locks::sample(
                watcher,
                pid,
                schema,
                rec.clone(),
                stop.clone(),
            ));
            (Some(rec), Some(task))
        } else {
            (None, None)
        };
        let workload = if opts.workload {
            ctx.progress.line(format!(
                "forecast: 2.8 traffic on separate connections during `{phase}`"
            ));
            Some(workload::start(&cap.target, stop.clone()).await?)
        } else {
            None
        };
        Ok(Watch {
            phase,
            recorder,
            stop,
            sampler,
            workload,
        })
    }

    /// What the built-in runner reports to.
    pub fn hooks(&self) -> &dyn Hooks {
        match &self.recorder {
            Some(r) => &**r,
            None => &NoHooks,
        }
    }

    /// Stops watching: each step log gets its locks, each step slower than --db-timeout
    /// becomes a problem, and the workload's waits go into the report.
    pub async fn end(self, ctx: &mut Ctx<'_>, logs: &mut [&mut StepLog]) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.sampler {
            match task.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => ctx.report.warnings.push(format!(
                    "forecast: lock sampling stopped early, so `locks` show only the predicted \
                     levels from then on: {e}"
                )),
                Err(e) => return Err(Error::Internal(format!("the lock sampler panicked: {e}"))),
            }
        }
        let (parts, spans) = self.recorder.map(|r| r.take()).unwrap_or_default();
        attach_locks(&parts, logs);
        let timeout = ctx.opts.forecast.db_timeout;
        for p in parts.iter().filter(|p| p.longest_query > timeout) {
            let problem = db_timeout(p, timeout, self.phase);
            ctx.report.problems.push(problem);
        }
        if let Some(task) = self.workload {
            let runs = task
                .await
                .map_err(|e| Error::Internal(format!("the 2.8 workload panicked: {e}")))?;
            let phase_cmd = format!("kong migrations {}", self.phase);
            let fallback = ctx.kong.is_some().then_some(phase_cmd.as_str());
            for r in &runs {
                warn_slow(&mut ctx.report.warnings, r, &spans, fallback);
            }
            merge_workload(&mut ctx.report.forecast.workload, &runs, &spans, fallback);
        }
        Ok(())
    }
}

/// Each step log's locks: those of its parts (`up` and `up_f` for an up step), the longest
/// hold of each (table, mode), strongest first.
fn attach_locks(parts: &[PartRecord], logs: &mut [&mut StepLog]) {
    for log in logs.iter_mut() {
        let mut merged: BTreeMap<(String, _), crate::kong::runner::builtin::LockHeld> =
            BTreeMap::new();
        for p in parts.iter().filter(|p| {
            p.subsystem == log.subsystem && p.migration == log.migration && p.phase == log.phase
        }) {
            for l in &p.locks {
                let e = merged
                    .entry((l.table.clone(), l.mode))
                    .or_insert_with(|| l.clone());
                e.held_ms = e.held_ms.max(l.held_ms);
                e.observed |= l.observed;
                e.predicted |= l.predicted;
            }
        }
        let mut locks: Vec<_> = merged.into_values().collect();
        locks.sort_by(|a, b| b.mode.cmp(&a.mode).then_with(|| a.table.cmp(&b.table)));
        log.locks = locks;
    }
}

/// The step a slow run of `r` waited for: the lock on its table, in a conflicting mode,
/// held during the run (the longest overlap wins). With the real Kong, whose steps cannot
/// be seen, the phase command, for a wait of [`WAIT_WARNING`] or more.
fn blocker(
    r: &Runs,
    (s, e): (Instant, Instant),
    spans: &[LockSpan],
    fallback: Option<&str>,
) -> Option<(String, Option<&'static str>)> {
    if e - s < workload::SLOW {
        return None;
    }
    let overlap = |sp: &LockSpan| sp.to.min(e).saturating_duration_since(sp.from.max(s));
    spans
        .iter()
        .filter(|sp| {
            sp.table == r.class.table
                && locks::conflicts(sp.mode, r.class.mode)
                && sp.from < e
                && s < sp.to
        })
        .max_by_key(|sp| overlap(sp))
        .map(|sp| (sp.step.clone(), Some(sp.mode.as_str())))
        // Without the steps' locks, only a wait no noise explains is put on the phase.
        .or_else(|| {
            fallback
                .filter(|_| e - s >= WAIT_WARNING)
                .map(|f| (f.to_string(), None))
        })
}

fn merge_workload(
    out: &mut Vec<ClassReport>,
    runs: &[Runs],
    spans: &[LockSpan],
    fallback: Option<&str>,
) {
    for r in runs {
        let wait = r.max_wait().as_millis() as u64;
        let blocked_by = r
            .slowest
            .and_then(|w| blocker(r, w, spans, fallback))
            .map(|(step, _)| step);
        match out.iter_mut().find(|c| c.query == r.class.query) {
            Some(c) => {
                c.runs += r.runs;
                c.errors += r.errors;
                if c.first_error.is_none() {
                    c.first_error.clone_from(&r.first_error);
                }
                if wait > c.max_wait_ms {
                    c.max_wait_ms = wait;
                    c.blocked_by = blocked_by;
                }
            }
            None => out.push(ClassReport {
                query: r.class.query.to_string(),
                table: r.class.table.to_string(),
                runs: r.runs,
                max_wait_ms: wait,
                blocked_by,
                errors: r.errors,
                first_error: r.first_error.clone(),
            }),
        }
    }
}

/// One warning per (query class, step) whose wait reached [`WAIT_WARNING`].
fn warn_slow(out: &mut Vec<String>, r: &Runs, spans: &[LockSpan], fallback: Option<&str>) {
    let mut worst: BTreeMap<String, (Duration, Option<&'static str>)> = BTreeMap::new();
    for &(s, e) in r.slow.iter().filter(|(s, e)| *e - *s >= WAIT_WARNING) {
        let (step, mode) = blocker(r, (s, e), spans, fallback)
            .unwrap_or_else(|| ("no migration lock seen".into(), None));
        let w = worst.entry(step).or_insert((Duration::ZERO, mode));
        w.0 = w.0.max(e - s);
    }
    for (step, (wait, mode)) in worst {
        let lock = mode
            .map(|m| format!(" ({m} on {})", r.class.table))
            .unwrap_or_default();
        let failing = if wait >= PG_TIMEOUT_28 {
            "; beyond Kong 2.8's default pg_timeout (5 s), so those nodes' queries fail"
        } else {
            ""
        };
        out.push(format!(
            "workload: 2.8 nodes' {} waited {:.1} s behind {step}{lock}{failing}",
            r.class.query,
            wait.as_secs_f64()
        ));
    }
}

/// A part whose longest Kong query outlasts --db-timeout: production's migration stops
/// there.
fn db_timeout(p: &PartRecord, timeout: Duration, phase: &'static str) -> Problem {
    let cmd = if phase == "up" { "up" } else { "finish" };
    let took = p.longest_query.as_secs_f64();
    let what = match p.part {
        "up" => "this step's up SQL as one query (`BEGIN; ...; COMMIT;`)",
        "up_f" => "this step's data step (up_f) query by query",
        _ => "this step's teardown query by query",
    };
    let after = match p.part {
        "up" => format!(
            "PostgreSQL may still commit the transaction, but Kong never records {} in \
             schema_meta, so the rerun runs it again",
            p.migration
        ),
        _ => format!(
            "the rows committed before the timeout stay, {} is not recorded, and the rerun \
             processes them again (rehearse that with --interrupt {})",
            p.migration, p.id
        ),
    };
    // A margin over what this machine measured: production hardware and load differ.
    let suggested = (took * 3.0).ceil().max(timeout.as_secs_f64() + 1.0) as u64;
    Problem::new(
        Kind::DbTimeout,
        format!(
            "Kong sends {what}, and the longest took {took:.1} s here, more than --db-timeout \
             {} s. Production's `kong migrations {cmd}` would stop at this step with a timeout \
             error; {after}.",
            timeout.as_secs()
        ),
    )
    .subsystem(&p.subsystem)
    .migration(&p.migration)
    .object(format!("step {}", p.id))
    .in_phase(if phase == "up" { "up" } else { "finish" })
    .fix(format!(
        "Raise the migration job's timeout above this step's time with a margin \
         (`kong migrations {cmd} --db-timeout {suggested}`); or run the upgrade in a \
         maintenance window, when 2.8 traffic can wait; or reduce the data this step touches \
         first (expired ratelimiting_metrics and cluster_events rows, unused plugins and \
         targets)."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::runner::builtin::LockMode;

    fn class(table: &'static str, mode: LockMode) -> workload::Class {
        workload::Class {
            query: "q",
            table,
            mode,
            sql: String::new(),
        }
    }

    #[test]
    fn a_slow_read_is_blamed_on_the_conflicting_lock_it_overlapped() {
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        let spans = vec![
            LockSpan {
                step: "core/018_310_to_320:up".into(),
                table: "plugins".into(),
                mode: LockMode::AccessExclusive,
                from: ms(0),
                to: ms(100),
            },
            LockSpan {
                step: "core/019_320_to_330:up".into(),
                table: "plugins".into(),
                mode: LockMode::AccessExclusive,
                from: ms(200),
                to: ms(2700),
            },
            LockSpan {
                step: "x:up".into(),
                table: "plugins".into(),
                mode: LockMode::Share,
                from: ms(200),
                to: ms(2700),
            },
        ];
        let r = Runs {
            class: class("plugins", LockMode::AccessShare),
            runs: 3,
            errors: 0,
            first_error: None,
            slowest: Some((ms(300), ms(2700))),
            slow: vec![(ms(300), ms(2700))],
        };
        let mut out = vec![];
        merge_workload(&mut out, std::slice::from_ref(&r), &spans, None);
        assert_eq!(out[0].blocked_by.as_deref(), Some("core/019_320_to_330:up"));
        assert_eq!(out[0].max_wait_ms, 2400);
        let mut w = vec![];
        warn_slow(&mut w, &r, &spans, None);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("2.4 s behind core/019_320_to_330:up (AccessExclusiveLock on plugins)"),
            "{w:?}"
        );
    }

    #[test]
    fn a_step_over_the_timeout_names_what_production_sees_and_the_fixes() {
        let p = PartRecord {
            id: "core/019_320_to_330:up".into(),
            subsystem: "core".into(),
            migration: "019_320_to_330".into(),
            phase: "up",
            part: "up",
            duration: Duration::from_millis(2700),
            longest_query: Duration::from_millis(2700),
            locks: vec![],
        };
        let pr = db_timeout(&p, Duration::from_secs(2), "up");
        assert_eq!(pr.kind, Kind::DbTimeout);
        assert!(
            pr.message.contains("2.7 s") && pr.message.contains("--db-timeout 2 s"),
            "{}",
            pr.message
        );
        assert!(
            pr.fix.contains("--db-timeout 9") && pr.fix.contains("maintenance window"),
            "{}",
            pr.fix
        );
    }
}
