//! The built-in runner: what Kong 3.4.2's `kong migrations up` and `kong migrations finish`
//! do, without a Kong install. SQL comes from the LTS catalog; Kong's Lua data steps are
//! the Rust ports in `kong::transforms`; bookkeeping is Kong's own `record_migration` SQL.
//! It knows nothing of forecasts: it only reports where it is to the `Hooks` it is given.
//!
//! Transactions follow Kong: each `up` SQL runs in one transaction; data steps autocommit
//! (Kong row by row; here a batch of rows per statement, see [`DATA_STEP_BATCH`], with the
//! rows before a failing row or an observer's cut committed as Kong would leave them); each
//! teardown query is its own implicit transaction; the bookkeeping statement commits
//! separately. A crash between them therefore leaves what it would leave in production.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;
use uuid::Uuid;

use super::sql::{is_blank, split_statements};
use crate::error::{describe_pg_error, Error};
use crate::kong::lts::{LtsCatalog, Step};
use crate::kong::schema_meta::{self, Record, Row};
use crate::kong::transforms;
use crate::report::Progress;

/// Marks the split between two queries Kong sends separately inside one teardown file.
const QUERY_BOUNDARY: &str = "-- kong-rehearse: query boundary";

/// Rows a data step reads per page and writes back per statement. Kong sends one
/// autocommitted UPDATE per row; the built-in runner sends one per batch of this many rows
/// (same rows, same values), and goes back to one per row where a batch fails, so the rows
/// before a failing row are committed as Kong would have left them.
pub const DATA_STEP_BATCH: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct StepLog {
    pub subsystem: String,
    pub migration: String,
    /// `up` or `teardown`.
    pub phase: &'static str,
    /// `ok` or `failed`.
    pub status: &'static str,
    pub duration_ms: u64,
    pub statements: usize,
    /// Rows a data step rewrote (or deleted).
    pub rows_rewritten: u64,
    /// Kong quirks that fired in this step, with how many rows showed each.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub quirks: BTreeMap<String, u64>,
    /// Table locks the step's transactions held, strongest first (filled in by the
    /// rehearsal's forecast; empty when nothing watched the step).
    pub locks: Vec<LockHeld>,
}

/// PostgreSQL's table-level lock modes, weakest first (the order of the conflict table in
/// PostgreSQL's "Explicit Locking" chapter). Serialized with PostgreSQL's own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LockMode {
    #[serde(rename = "AccessShareLock")]
    AccessShare,
    #[serde(rename = "RowShareLock")]
    RowShare,
    #[serde(rename = "RowExclusiveLock")]
    RowExclusive,
    #[serde(rename = "ShareUpdateExclusiveLock")]
    ShareUpdateExclusive,
    #[serde(rename = "ShareLock")]
    Share,
    #[serde(rename = "ShareRowExclusiveLock")]
    ShareRowExclusive,
    #[serde(rename = "ExclusiveLock")]
    Exclusive,
    #[serde(rename = "AccessExclusiveLock")]
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The name `pg_locks.mode` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    pub fn from_pg(name: &str) -> Option<LockMode> {
        LockMode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// One table lock a step held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHeld {
    pub table: String,
    pub mode: LockMode,
    /// From the lock's first sighting (or the start of the statement that must take it) to
    /// the end of the transaction holding it; the longest such hold within the step.
    pub held_ms: u64,
    /// Seen in pg_locks while the step ran.
    pub observed: bool,
    /// The level its statement must take, from the statement's parse.
    pub predicted: bool,
}

/// Where the runner is: one part of one step.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub subsystem: &'a str,
    pub migration: &'a str,
    /// `up` (the up SQL, one transaction), `up_f` (the data step of `up`) or `teardown`.
    pub part: &'static str,
}

impl Part<'_> {
    /// `core/016_280_to_300:up_f`: how reports and `--interrupt` name a part.
    pub fn id(&self) -> String {
        format!("{}/{}:{}", self.subsystem, self.migration, self.part)
    }
    /// The step log's phase this part belongs to.
    pub fn phase(&self) -> &'static str {
        if self.part == "teardown" {
            "teardown"
        } else {
            "up"
        }
    }
}

/// What an observer wants the runner to do before its next unit of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    /// Cut the migration connection here, as a lost socket would.
    Cut,
}

/// Observers of a run (the forecast's lock recorder, an interrupt). Every method is called
/// on the runner's task, so each must return at once; the default does nothing.
pub trait Hooks: Sync {
    fn part_started(&self, _part: &Part<'_>) {}
    /// Before unit `done` (0-based) of `total`: a statement of the up transaction, a query
    /// of a teardown, a row of a data step (`unit` says which).
    fn before_unit(
        &self,
        _part: &Part<'_>,
        _unit: &'static str,
        _done: usize,
        _total: usize,
    ) -> Flow {
        Flow::Go
    }
    fn query_started(&self, _part: &Part<'_>, _sql: &str) {}
    /// A query returned successfully; `commits` when it ended a transaction (an
    /// autocommitted query, or the COMMIT of the up transaction).
    fn query_done(&self, _part: &Part<'_>, _sql: &str, _commits: bool) {}
    fn part_ended(&self, _part: &Part<'_>, _ok: bool) {}
    /// Whether the data step of `part` must send one UPDATE per row, as Kong does, instead of
    /// one per batch of rows (for an observer that counts per-row commits). The end state is
    /// the same either way; so is where a cut at a `row` unit leaves the table.
    fn rows_one_by_one(&self, _part: &Part<'_>) -> bool {
        false
    }
}

/// No observer.
pub struct NoHooks;
impl Hooks for NoHooks {}

/// A migration failed: where, why, and what it left behind.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub subsystem: String,
    pub migration: String,
    pub phase: &'static str,
    pub error: String,
    pub statement: String,
    /// schema_meta as left behind (empty when it could not be read; then see
    /// `schema_meta_unreadable`).
    pub schema_meta: Vec<Row>,
    /// Why schema_meta could not be read after the failure, so an empty list is never
    /// mistaken for "nothing recorded".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_meta_unreadable: Option<String>,
    /// Steps of this phase that completed before the failure.
    pub completed: Vec<StepLog>,
    /// The failed step itself.
    pub step: StepLog,
}

#[derive(Debug)]
pub enum RunError {
    Failed(Box<Failure>),
    Env(Error),
}

impl From<Error> for RunError {
    fn from(e: Error) -> Self {
        RunError::Env(e)
    }
}

pub struct Builtin<'a> {
    pub catalog: &'a LtsCatalog,
    pub progress: Progress,
}

struct StepError {
    statement: String,
    error: String,
}

impl StepError {
    fn pg(statement: impl Into<String>, e: &tokio_postgres::Error) -> Self {
        StepError {
            statement: statement.into(),
            error: describe_pg_error(e),
        }
    }
}

/// The hooks and the part they are told about, carried through one part of a step.
struct Tap<'a> {
    hooks: &'a dyn Hooks,
    part: Part<'a>,
}

impl<'a> Tap<'a> {
    fn new(
        hooks: &'a dyn Hooks,
        subsystem: &'a str,
        migration: &'a str,
        part: &'static str,
    ) -> Self {
        Tap {
            hooks,
            part: Part {
                subsystem,
                migration,
                part,
            },
        }
    }

    fn started(&self) {
        self.hooks.part_started(&self.part);
    }

    fn ended<T, E>(&self, r: &Result<T, E>) {
        self.hooks.part_ended(&self.part, r.is_ok());
    }

    /// Before each unit of work; an observer may cut the connection here.
    async fn unit(
        &self,
        c: &Client,
        unit: &'static str,
        done: usize,
        total: usize,
    ) -> Result<(), StepError> {
        if !self.wants_cut(unit, done, total) {
            return Ok(());
        }
        Err(self.cut(c, unit, done, total).await)
    }

    /// Asks the observer about unit `done` of `total`: whether it wants the connection cut
    /// there (then [`Tap::cut`] must follow, once what came before the unit is written).
    fn wants_cut(&self, unit: &'static str, done: usize, total: usize) -> bool {
        self.hooks.before_unit(&self.part, unit, done, total) == Flow::Cut
    }

    /// Rows a data step writes per statement: one when the observer asks for Kong's
    /// statements, else [`DATA_STEP_BATCH`].
    fn batch_rows(&self) -> usize {
        if self.hooks.rows_one_by_one(&self.part) {
            1
        } else {
            DATA_STEP_BATCH
        }
    }

    /// Cuts the connection before unit `done` of `total`; the error to report.
    async fn cut(&self, c: &Client, unit: &'static str, done: usize, total: usize) -> StepError {
        // The server ends the session as it would on a lost socket (an open transaction
        // rolls back). The query itself fails by design, so its error is the expected one.
        let cut = c
            .batch_execute(crate::pg::sql::forecast::TERMINATE_SELF)
            .await;
        StepError {
            statement: format!("(before {unit} {} of {total})", done + 1),
            error: format!(
                "the migration connection was cut (--interrupt) before {unit} {} of {total}{}",
                done + 1,
                match cut {
                    Err(e) => format!(": {}", describe_pg_error(&e)),
                    Ok(()) => String::new(),
                }
            ),
        }
    }

    async fn batch(
        &self,
        c: &Client,
        sql: &str,
        commits: bool,
    ) -> Result<(), tokio_postgres::Error> {
        self.hooks.query_started(&self.part, sql);
        c.batch_execute(sql).await?;
        self.hooks.query_done(&self.part, sql, commits);
        Ok(())
    }

    async fn execute(
        &self,
        c: &Client,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        self.hooks.query_started(&self.part, sql);
        let n = c.execute(sql, params).await?;
        self.hooks.query_done(&self.part, sql, true);
        Ok(n)
    }

    async fn query(
        &self,
        c: &Client,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        self.hooks.query_started(&self.part, sql);
        let rows = c.query(sql, params).await?;
        self.hooks.query_done(&self.part, sql, true);
        Ok(rows)
    }
}

impl Builtin<'_> {
    /// `kong migrations up`: every migration Kong classifies as new, subsystem by subsystem.
    pub async fn up(&self, client: &Client) -> Result<Vec<StepLog>, RunError> {
        self.up_with(client, &NoHooks).await
    }

    /// `kong migrations finish`: the teardown of every pending migration, in catalog order.
    pub async fn finish(&self, client: &Client) -> Result<Vec<StepLog>, RunError> {
        self.finish_with(client, &NoHooks).await
    }

    /// [`Builtin::up`], telling `hooks` where it is.
    pub async fn up_with(
        &self,
        client: &Client,
        hooks: &dyn Hooks,
    ) -> Result<Vec<StepLog>, RunError> {
        let rows = read_meta(client).await?;
        if let Some(r) = rows
            .iter()
            .find(|r| r.pending.as_ref().is_some_and(|p| !p.is_empty()))
        {
            return Err(RunError::Env(Error::NotEligible(format!(
                "Database has pending migrations ({} {:?}); Kong's `up` refuses to run: run \
                 'kong migrations finish' first",
                r.subsystem, r.pending
            ))));
        }
        let owner = self.lock(client).await?;
        let mut logs = vec![];
        for sub in &self.catalog.subsystems {
            let recorded = rows.iter().find(|r| r.subsystem == sub.name);
            for step in &sub.sequence {
                let done = recorded.is_some_and(|r| {
                    r.executed
                        .iter()
                        .chain(&r.pending)
                        .flatten()
                        .any(|m| m == &step.name)
                });
                if done {
                    continue;
                }
                self.step(client, &sub.name, step, "up", &mut logs, hooks)
                    .await?;
            }
        }
        self.unlock(client, owner).await?;
        Ok(logs)
    }

    /// [`Builtin::finish`], telling `hooks` where it is.
    pub async fn finish_with(
        &self,
        client: &Client,
        hooks: &dyn Hooks,
    ) -> Result<Vec<StepLog>, RunError> {
        let rows = read_meta(client).await?;
        let owner = self.lock(client).await?;
        let mut logs = vec![];
        for sub in &self.catalog.subsystems {
            let pending: Vec<String> = rows
                .iter()
                .find(|r| r.subsystem == sub.name)
                .and_then(|r| r.pending.clone())
                .unwrap_or_default();
            for step in sub.sequence.iter().filter(|s| pending.contains(&s.name)) {
                self.step(client, &sub.name, step, "teardown", &mut logs, hooks)
                    .await?;
            }
        }
        self.unlock(client, owner).await?;
        Ok(logs)
    }

    /// One migration step: its SQL and data step, then Kong's record of it. On failure the
    /// steps done so far move into the error.
    async fn step(
        &self,
        client: &Client,
        sub: &str,
        step: &Step,
        phase: &'static str,
        logs: &mut Vec<StepLog>,
        hooks: &dyn Hooks,
    ) -> Result<(), RunError> {
        let t0 = Instant::now();
        let mut log = new_log(sub, step, phase);
        let result = if phase == "up" {
            self.run_up(client, sub, step, &mut log, hooks).await
        } else {
            self.run_teardown(client, sub, step, &mut log, hooks).await
        };
        log.duration_ms = t0.elapsed().as_millis() as u64;
        if let Err(e) = result {
            return Err(self.failed(client, log, e, std::mem::take(logs)).await);
        }
        let rec = match (phase, step.has_teardown) {
            ("up", true) => Record::Pending,
            ("up", false) => Record::Executed,
            _ => Record::Teardown,
        };
        if let Err(e) = client.execute(rec.sql(), &[&sub, &step.name]).await {
            let e = StepError::pg(rec.sql(), &e);
            return Err(self.failed(client, log, e, std::mem::take(logs)).await);
        }
        tracing::debug!(subsystem = sub, migration = %step.name, phase, "step done");
        self.progress.line(format!(
            "{phase} {sub}/{}: {} statement(s){} in {} ms (recorded {})",
            step.name,
            log.statements,
            rewritten(&log),
            log.duration_ms,
            match rec {
                Record::Pending => "pending",
                Record::Executed => "executed",
                Record::Teardown => "teardown",
            }
        ));
        logs.push(log);
        Ok(())
    }

    async fn run_up(
        &self,
        c: &Client,
        sub: &str,
        step: &Step,
        log: &mut StepLog,
        hooks: &dyn Hooks,
    ) -> Result<(), StepError> {
        if let Some(rel) = &step.up {
            let sql = self.catalog.sql(rel).map_err(env_step)?;
            if !is_blank(&sql) {
                // Kong sends `BEGIN; <up>; COMMIT;`: all of up or none of it.
                let stmts = split_statements(&sql);
                log.statements += stmts.len();
                let tap = Tap::new(hooks, sub, &step.name, "up");
                tap.started();
                let r = run_in_transaction(c, &stmts, &tap).await;
                tap.ended(&r);
                r?;
            }
        }
        if let Some(data) = &step.up_f {
            let tap = Tap::new(hooks, sub, &step.name, "up_f");
            tap.started();
            let r = self.data_step(c, sub, data, log, &tap).await;
            tap.ended(&r);
            r?;
        }
        Ok(())
    }

    async fn run_teardown(
        &self,
        c: &Client,
        sub: &str,
        step: &Step,
        log: &mut StepLog,
        hooks: &dyn Hooks,
    ) -> Result<(), StepError> {
        let tap = Tap::new(hooks, sub, &step.name, "teardown");
        tap.started();
        let r = self.teardown_queries(c, step, log, &tap).await;
        let r = match (r, &step.teardown_step) {
            (Ok(()), Some(data)) => self.data_step(c, sub, data, log, &tap).await,
            (r, _) => r,
        };
        tap.ended(&r);
        r
    }

    async fn teardown_queries(
        &self,
        c: &Client,
        step: &Step,
        log: &mut StepLog,
        tap: &Tap<'_>,
    ) -> Result<(), StepError> {
        let Some(rel) = &step.teardown else {
            return Ok(());
        };
        let sql = self.catalog.sql(rel).map_err(env_step)?;
        // Each query is one simple-Query message: its own implicit transaction, so an
        // earlier query stays committed when a later one fails (as in production).
        let queries: Vec<String> = split_queries(&sql)
            .into_iter()
            .filter(|q| !is_blank(q))
            .collect();
        for (i, query) in queries.iter().enumerate() {
            tap.unit(c, "query", i, queries.len()).await?;
            log.statements += split_statements(query).len();
            tap.batch(c, query, true)
                .await
                .map_err(|e| StepError::pg(query.trim(), &e))?;
        }
        Ok(())
    }

    async fn data_step(
        &self,
        c: &Client,
        sub: &str,
        name: &str,
        log: &mut StepLog,
        tap: &Tap<'_>,
    ) -> Result<(), StepError> {
        match name {
            "route_paths_280_300" => route_paths(c, log, tap).await,
            "pre_post_function_functions_to_access" => {
                plugin_configs(c, sub, log, tap, |cfg| {
                    transforms::pre_post_function_up_checked(cfg).map(Some)
                })
                .await
            }
            "pre_post_function_remove_functions" => {
                plugin_configs(c, sub, log, tap, |cfg| {
                    transforms::pre_post_function_teardown_checked(cfg).map(Some)
                })
                .await
            }
            "http_log_headers_280_300" => {
                plugin_configs(
                    c,
                    "http-log",
                    log,
                    tap,
                    transforms::http_log_headers_checked,
                )
                .await
            }
            other => Err(StepError {
                statement: format!("data step {other}"),
                error: format!("the built-in runner has no implementation of data step `{other}`"),
            }),
        }
    }

    /// Kong holds a row in `locks` while it migrates; reproduced so the database looks the
    /// same to anything watching it.
    async fn lock(&self, c: &Client) -> Result<Uuid, RunError> {
        let owner = Uuid::from_u128(rand::random::<u128>());
        c.execute("DELETE FROM locks WHERE ttl < CURRENT_TIMESTAMP", &[])
            .await
            .map_err(|e| Error::db("cannot clear expired migration locks", e))?;
        c.execute(
            "INSERT INTO locks (key, owner, ttl) VALUES ('migrations', $1::text, CURRENT_TIMESTAMP + interval '60 seconds')",
            &[&owner.to_string()],
        )
        .await
        .map_err(|e| Error::db("cannot take Kong's migration lock (another `kong migrations` running?)", e))?;
        Ok(owner)
    }

    async fn unlock(&self, c: &Client, owner: Uuid) -> Result<(), RunError> {
        c.execute(
            "DELETE FROM locks WHERE key = 'migrations' AND owner = $1::text",
            &[&owner.to_string()],
        )
        .await
        .map_err(|e| Error::db("cannot release Kong's migration lock", e))?;
        Ok(())
    }

    async fn failed(
        &self,
        c: &Client,
        mut log: StepLog,
        e: StepError,
        completed: Vec<StepLog>,
    ) -> RunError {
        log.status = "failed";
        // Kong's cluster_mutex catches the failed callback and removes the `migrations` lock
        // before the command exits (kong/db/init.lua @ 3.4.2), so production's rerun is not
        // held back by it. A connection too broken to do so leaves the row to its TTL, as a
        // crashed Kong would; the failure being reported is the step's, not this one's.
        let _ = c
            .batch_execute(crate::pg::sql::forecast::RELEASE_KONG_LOCK)
            .await;
        let (schema_meta, schema_meta_unreadable) = left_behind(c).await;
        RunError::Failed(Box::new(Failure {
            subsystem: log.subsystem.clone(),
            migration: log.migration.clone(),
            phase: log.phase,
            error: e.error,
            statement: e.statement,
            schema_meta,
            schema_meta_unreadable,
            completed,
            step: log,
        }))
    }
}

/// The queries of a teardown file: separated by a line holding only the boundary marker.
fn split_queries(sql: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in sql.lines() {
        if line.trim() == QUERY_BOUNDARY {
            out.push(String::new());
        } else {
            let q = out.last_mut().expect("never empty");
            q.push_str(line);
            q.push('\n');
        }
    }
    out
}

fn new_log(sub: &str, step: &Step, phase: &'static str) -> StepLog {
    StepLog {
        subsystem: sub.to_string(),
        migration: step.name.clone(),
        phase,
        status: "ok",
        duration_ms: 0,
        statements: 0,
        rows_rewritten: 0,
        quirks: BTreeMap::new(),
        locks: vec![],
    }
}

fn rewritten(log: &StepLog) -> String {
    if log.rows_rewritten > 0 {
        format!(", {} row(s) rewritten", log.rows_rewritten)
    } else {
        String::new()
    }
}

fn env_step(e: Error) -> StepError {
    StepError {
        statement: String::new(),
        error: e.to_string(),
    }
}

/// schema_meta after a failure, or why it could not be read.
pub async fn left_behind(c: &Client) -> (Vec<Row>, Option<String>) {
    match read_meta(c).await {
        Ok(rows) => (rows, None),
        Err(e) => (vec![], Some(e.to_string())),
    }
}

async fn read_meta(c: &Client) -> Result<Vec<Row>, Error> {
    schema_meta::read(c)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))
}

async fn run_in_transaction(c: &Client, stmts: &[String], tap: &Tap<'_>) -> Result<(), StepError> {
    tap.batch(c, "BEGIN", false)
        .await
        .map_err(|e| StepError::pg("BEGIN", &e))?;
    for (i, s) in stmts.iter().enumerate() {
        tap.unit(c, "statement", i, stmts.len()).await?;
        tracing::trace!(statement = %s, "up");
        if let Err(e) = tap.batch(c, s, false).await {
            // The statement's error is the one to report; a failed ROLLBACK on top of it
            // changes nothing (the server aborts the transaction either way).
            let _ = c.batch_execute("ROLLBACK").await;
            return Err(StepError::pg(s.clone(), &e));
        }
    }
    tap.batch(c, "COMMIT", true)
        .await
        .map_err(|e| StepError::pg("COMMIT", &e))
}

/// A row a data step rewrites, waiting for its batch: the id, the value Kong writes back,
/// and the quirks it shows (counted once the row is committed).
struct Rewrite<T> {
    id: Uuid,
    value: T,
    quirks: Vec<&'static str>,
}

/// How one table's rewrites are written: one row as Kong does, or a batch.
trait RewriteSql: ToSql + Sync + Sized {
    /// `UPDATE … SET col = $1 WHERE id = $2`.
    const ROW: &'static str;
    /// `UPDATE … FROM unnest($1::uuid[], $2::jsonb[])`.
    const BATCH: &'static str;
    /// The value as the batch's `jsonb` element.
    fn batch_value(&self) -> serde_json::Value;
    /// The statement an error names: the row's own UPDATE.
    fn describe(&self, id: &Uuid) -> String;
}

impl RewriteSql for Vec<String> {
    const ROW: &'static str = crate::pg::sql::data_steps::ROUTE_PATHS_ROW;
    const BATCH: &'static str = crate::pg::sql::data_steps::ROUTE_PATHS_BATCH;
    fn batch_value(&self) -> serde_json::Value {
        serde_json::Value::from(self.clone())
    }
    fn describe(&self, id: &Uuid) -> String {
        format!("UPDATE routes SET paths = {self:?} WHERE id = '{id}'")
    }
}

impl RewriteSql for serde_json::Value {
    const ROW: &'static str = crate::pg::sql::data_steps::PLUGIN_CONFIG_ROW;
    const BATCH: &'static str = crate::pg::sql::data_steps::PLUGIN_CONFIGS_BATCH;
    fn batch_value(&self) -> serde_json::Value {
        self.clone()
    }
    fn describe(&self, id: &Uuid) -> String {
        format!("UPDATE plugins SET config = '...' WHERE id = '{id}'")
    }
}

/// The rewrites of a data step not yet sent, in row order.
struct Pending<T: RewriteSql> {
    rows: Vec<Rewrite<T>>,
    batch: usize,
}

impl<T: RewriteSql> Pending<T> {
    fn new(batch: usize) -> Self {
        Pending {
            rows: Vec::with_capacity(batch),
            batch,
        }
    }

    /// Queues a rewrite, writing the batch once it is full.
    async fn push(
        &mut self,
        c: &Client,
        tap: &Tap<'_>,
        log: &mut StepLog,
        row: Rewrite<T>,
    ) -> Result<(), StepError> {
        self.rows.push(row);
        if self.rows.len() >= self.batch {
            self.flush(c, tap, log).await?;
        }
        Ok(())
    }

    /// Writes what is queued: one autocommitted statement for the batch; if it fails (it then
    /// changed nothing), the same rows one autocommitted UPDATE each, as Kong sends them, so
    /// the rows before the failing one are committed and the error names that row.
    async fn flush(
        &mut self,
        c: &Client,
        tap: &Tap<'_>,
        log: &mut StepLog,
    ) -> Result<(), StepError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        if self.rows.len() > 1 {
            let ids: Vec<Uuid> = self.rows.iter().map(|r| r.id).collect();
            let values: Vec<serde_json::Value> =
                self.rows.iter().map(|r| r.value.batch_value()).collect();
            let sent = tap.execute(c, T::BATCH, &[&ids, &values]).await;
            log.statements += 1;
            match sent {
                Ok(_) => {
                    for r in self.rows.drain(..) {
                        committed(log, &r.quirks);
                    }
                    return Ok(());
                }
                Err(e) => tracing::debug!(
                    rows = self.rows.len(),
                    error = %describe_pg_error(&e),
                    "batch failed; rewriting its rows one by one"
                ),
            }
        }
        for r in std::mem::take(&mut self.rows) {
            let sent = tap.execute(c, T::ROW, &[&r.value, &r.id]).await;
            log.statements += 1;
            sent.map_err(|e| StepError::pg(r.value.describe(&r.id), &e))?;
            committed(log, &r.quirks);
        }
        Ok(())
    }
}

/// A rewrite is committed: count it and its quirks.
fn committed(log: &mut StepLog, quirks: &[&'static str]) {
    log.rows_rewritten += 1;
    for q in quirks {
        *log.quirks.entry(q.to_string()).or_default() += 1;
    }
}

/// Reads a data step's rows page by page in id order (keyset: each page starts after the
/// last id of the one before), so a step never holds more than a page.
struct Pages<'q> {
    first: &'static str,
    next: &'static str,
    /// The parameters before the keyset ones (`name = $1`).
    lead: Vec<&'q (dyn ToSql + Sync)>,
    last: Option<Uuid>,
    done: bool,
}

impl<'q> Pages<'q> {
    async fn next_page(
        &mut self,
        c: &Client,
        tap: &Tap<'_>,
        log: &mut StepLog,
        describe: impl Fn(&str) -> String,
    ) -> Result<Vec<tokio_postgres::Row>, StepError> {
        if self.done {
            return Ok(vec![]);
        }
        let limit = DATA_STEP_BATCH as i64;
        let mut params = self.lead.clone();
        let sql = match &self.last {
            None => self.first,
            Some(last) => {
                params.push(last);
                self.next
            }
        };
        params.push(&limit);
        let rows = tap
            .query(c, sql, &params)
            .await
            .map_err(|e| StepError::pg(describe(sql), &e))?;
        log.statements += 1;
        self.done = rows.len() < DATA_STEP_BATCH;
        self.last = rows.last().map(|r| r.get(0)).or(self.last);
        Ok(rows)
    }
}

/// How many rows a data step goes through (its `row` units).
async fn count_rows(
    c: &Client,
    tap: &Tap<'_>,
    log: &mut StepLog,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    describe: impl Fn(&str) -> String,
) -> Result<usize, StepError> {
    let rows = tap
        .query(c, sql, params)
        .await
        .map_err(|e| StepError::pg(describe(sql), &e))?;
    log.statements += 1;
    Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as usize)
}

/// core/016 up_f: every route's paths through Kong's migrate_path; each changed route
/// rewritten (in batches, see [`DATA_STEP_BATCH`]), `updated_at` untouched.
async fn route_paths(c: &Client, log: &mut StepLog, tap: &Tap<'_>) -> Result<(), StepError> {
    use crate::pg::sql::data_steps as q;
    let same = |s: &str| s.to_string();
    let total = count_rows(c, tap, log, q::ROUTE_PATHS_COUNT, &[], same).await?;
    let mut pages = Pages {
        first: q::ROUTE_PATHS_FIRST,
        next: q::ROUTE_PATHS_NEXT,
        lead: vec![],
        last: None,
        done: false,
    };
    let mut pending: Pending<Vec<String>> = Pending::new(tap.batch_rows());
    let mut i = 0;
    loop {
        let rows = pages.next_page(c, tap, log, same).await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            if tap.wants_cut("row", i, total) {
                // Kong would have committed every row before this one.
                pending.flush(c, tap, log).await?;
                return Err(tap.cut(c, "row", i, total).await);
            }
            i += 1;
            let id: Uuid = r.get(0);
            let paths: Vec<String> = r.get(1);
            let mut changed = false;
            let mut out = Vec::with_capacity(paths.len());
            for p in &paths {
                match transforms::migrate_path_checked(p) {
                    Ok((np, ch)) => {
                        changed |= ch;
                        out.push(np);
                    }
                    Err(e) => {
                        pending.flush(c, tap, log).await?;
                        return Err(StepError {
                            statement: format!("UPDATE routes SET paths = ... WHERE id = '{id}'"),
                            error: e.to_string(),
                        });
                    }
                }
            }
            if changed {
                let row = Rewrite {
                    id,
                    value: out,
                    quirks: vec![],
                };
                pending.push(c, tap, log, row).await?;
            }
        }
    }
    pending.flush(c, tap, log).await
}

/// A plugin-config data step: `rewrite` returns the config Kong writes back, None when Kong
/// leaves the row alone, or the error Kong's Lua raises on it (the step then fails, as in
/// production, with the rows before it already rewritten).
async fn plugin_configs(
    c: &Client,
    plugin: &str,
    log: &mut StepLog,
    tap: &Tap<'_>,
    rewrite: impl Fn(
        &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, transforms::TransformError>,
) -> Result<(), StepError> {
    use crate::pg::sql::data_steps as q;
    let named = |s: &str| s.replace("$1", &format!("'{plugin}'"));
    let total = count_rows(c, tap, log, q::PLUGIN_CONFIGS_COUNT, &[&plugin], named).await?;
    let mut pages = Pages {
        first: q::PLUGIN_CONFIGS_FIRST,
        next: q::PLUGIN_CONFIGS_NEXT,
        lead: vec![&plugin],
        last: None,
        done: false,
    };
    let mut pending: Pending<serde_json::Value> = Pending::new(tap.batch_rows());
    let mut i = 0;
    loop {
        let rows = pages.next_page(c, tap, log, named).await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            if tap.wants_cut("row", i, total) {
                pending.flush(c, tap, log).await?;
                return Err(tap.cut(c, "row", i, total).await);
            }
            i += 1;
            let id: Uuid = r.get(0);
            let config: serde_json::Value = r.get(1);
            let new = match rewrite(&config) {
                Ok(new) => new,
                Err(e) => {
                    pending.flush(c, tap, log).await?;
                    return Err(StepError {
                        statement: format!("data step on plugins row {id} ({plugin})"),
                        error: e.to_string(),
                    });
                }
            };
            let Some(new) = new else {
                continue;
            };
            let quirks = transforms::quirks(&config, &new);
            let row = Rewrite {
                id,
                value: new,
                quirks,
            };
            pending.push(c, tap, log, row).await?;
        }
    }
    pending.flush(c, tap, log).await
}
