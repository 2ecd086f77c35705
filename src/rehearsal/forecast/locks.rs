//! Which table locks each migration step takes and for how long: the lock level each
//! statement must take (from its parse), cross-checked with what pg_locks shows for the
//! migration's backend while the step runs (sampled on a second connection). Reads only; it
//! never sends anything on the migration's own connection.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CreateTableLikeKind, FromTable, ObjectName, ObjectType,
    SetExpr, Statement, TableConstraint, TableFactor, TableObject, TableWithJoins,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::kong::runner::builtin::{Hooks, LockHeld, LockMode, Part};
use crate::kong::runner::sql::split_statements;
use crate::pg::sql::forecast as sql;

/// How often pg_locks is read while a step runs.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Whether a lock held in mode `held` makes a request for `wanted` on the same table wait
/// (PostgreSQL's table of conflicting lock modes).
pub fn conflicts(held: LockMode, wanted: LockMode) -> bool {
    use LockMode::*;
    let blocked_by: &[LockMode] = match wanted {
        AccessShare => &[AccessExclusive],
        RowShare => &[Exclusive, AccessExclusive],
        RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
        ShareUpdateExclusive => &[
            ShareUpdateExclusive,
            Share,
            ShareRowExclusive,
            Exclusive,
            AccessExclusive,
        ],
        Share => &[
            RowExclusive,
            ShareUpdateExclusive,
            ShareRowExclusive,
            Exclusive,
            AccessExclusive,
        ],
        ShareRowExclusive => &[
            RowExclusive,
            ShareUpdateExclusive,
            Share,
            ShareRowExclusive,
            Exclusive,
            AccessExclusive,
        ],
        Exclusive => &[
            RowShare,
            RowExclusive,
            ShareUpdateExclusive,
            Share,
            ShareRowExclusive,
            Exclusive,
            AccessExclusive,
        ],
        AccessExclusive => &LockMode::ALL,
    };
    blocked_by.contains(&held)
}

/// What a lock of this mode does to 2.8 nodes serving from the same database: they read
/// (AccessShareLock) and write rows (RowExclusiveLock).
pub fn effect_on_28(mode: LockMode) -> &'static str {
    if conflicts(mode, LockMode::AccessShare) {
        "blocks 2.8 reads and writes"
    } else if conflicts(mode, LockMode::RowExclusive) {
        "blocks 2.8 writes"
    } else {
        "blocks no 2.8 traffic"
    }
}

/// The locks a piece of SQL must take, and the tables it creates or drops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Predicted {
    pub locks: Vec<(String, LockMode)>,
    pub creates: Vec<String>,
    pub drops: Vec<String>,
}

/// The table locks `sql` (one or more statements, DO blocks included) must take, per
/// PostgreSQL's documentation of each command's lock level.
pub fn predict(sql: &str) -> Predicted {
    let mut out = Predicted::default();
    for stmt in split_statements(sql) {
        predict_one(&stmt, &mut out, 0);
    }
    out
}

fn predict_one(stmt: &str, out: &mut Predicted, depth: usize) {
    // A DO block runs its body's statements; look inside (not deeper than Kong ever nests).
    if let Some(body) = do_body(stmt) {
        if depth < 3 {
            for piece in split_statements(&body) {
                if let Some(inner) = embedded_statement(&piece) {
                    predict_one(&inner, out, depth + 1);
                }
            }
        }
        return;
    }
    match Parser::parse_sql(&PostgreSqlDialect {}, stmt) {
        Ok(parsed) => parsed.iter().for_each(|s| from_ast(s, out)),
        Err(_) => from_words(stmt, out),
    }
}

fn push(out: &mut Predicted, name: &ObjectName, mode: LockMode) {
    out.locks.push((table_name(name), mode));
}

/// The unqualified, unquoted table name (Kong's SQL runs in one schema).
fn table_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.clone())
        .unwrap_or_else(|| name.to_string())
}

fn from_tables(tables: &[TableWithJoins], mode: LockMode, out: &mut Predicted) {
    for t in tables {
        for factor in std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, .. } = factor {
                push(out, name, mode);
            }
        }
    }
}

fn from_ast(s: &Statement, out: &mut Predicted) {
    use LockMode::*;
    match s {
        Statement::AlterTable(a) => {
            // ALTER TABLE takes the strongest level any of its subcommands needs; most need
            // ACCESS EXCLUSIVE. A new foreign key also locks the table it references.
            let mut mode = None;
            for op in &a.operations {
                let (m, refs) = alter_op(op);
                mode = mode.max(Some(m));
                for r in refs {
                    push(out, &r, ShareRowExclusive);
                }
            }
            push(out, &a.name, mode.unwrap_or(AccessExclusive));
        }
        Statement::CreateIndex(i) => push(
            out,
            &i.table_name,
            if i.concurrently {
                ShareUpdateExclusive
            } else {
                Share
            },
        ),
        Statement::CreateTrigger(t) => push(out, &t.table_name, ShareRowExclusive),
        Statement::DropTrigger(t) => {
            if let Some(table) = &t.table_name {
                push(out, table, AccessExclusive);
            }
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            for n in names {
                push(out, n, AccessExclusive);
                out.drops.push(table_name(n));
            }
        }
        Statement::Truncate(t) => {
            for n in &t.table_names {
                push(out, &n.name, AccessExclusive);
            }
        }
        Statement::CreateTable(t) => {
            out.creates.push(table_name(&t.name));
            for c in &t.columns {
                for o in &c.options {
                    if let ColumnOption::ForeignKey(fk) = &o.option {
                        push(out, &fk.foreign_table, ShareRowExclusive);
                    }
                }
            }
            for c in &t.constraints {
                if let TableConstraint::ForeignKey(fk) = c {
                    push(out, &fk.foreign_table, ShareRowExclusive);
                }
            }
            match &t.like {
                Some(CreateTableLikeKind::Parenthesized(l))
                | Some(CreateTableLikeKind::Plain(l)) => push(out, &l.name, AccessShare),
                None => {}
            }
        }
        Statement::Insert(i) => {
            if let TableObject::TableName(n) = &i.table {
                push(out, n, RowExclusive);
            }
            if let Some(q) = &i.source {
                if let SetExpr::Select(sel) = q.body.as_ref() {
                    from_tables(&sel.from, AccessShare, out);
                }
            }
        }
        Statement::Update(u) => from_tables(std::slice::from_ref(&u.table), RowExclusive, out),
        Statement::Delete(d) => {
            let (FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t)) = &d.from;
            from_tables(t, RowExclusive, out);
        }
        Statement::Query(q) => {
            if let SetExpr::Select(sel) = q.body.as_ref() {
                from_tables(&sel.from, AccessShare, out);
            }
        }
        _ => {}
    }
}

/// The level one ALTER TABLE subcommand needs, and the tables a new foreign key references.
fn alter_op(op: &AlterTableOperation) -> (LockMode, Vec<ObjectName>) {
    use LockMode::*;
    match op {
        AlterTableOperation::AddConstraint {
            constraint: TableConstraint::ForeignKey(fk),
            ..
        } => (ShareRowExclusive, vec![fk.foreign_table.clone()]),
        AlterTableOperation::EnableTrigger { .. } | AlterTableOperation::DisableTrigger { .. } => {
            (ShareRowExclusive, vec![])
        }
        AlterTableOperation::ValidateConstraint { .. } => (ShareUpdateExclusive, vec![]),
        AlterTableOperation::AddColumn { column_def, .. } => {
            let refs = column_def
                .options
                .iter()
                .filter_map(|o| match &o.option {
                    ColumnOption::ForeignKey(fk) => Some(fk.foreign_table.clone()),
                    _ => None,
                })
                .collect();
            (AccessExclusive, refs)
        }
        _ => (AccessExclusive, vec![]),
    }
}

/// For what sqlparser cannot read: the command words alone, for the DDL Kong uses.
fn from_words(stmt: &str, out: &mut Predicted) {
    let words = words(stmt);
    let w: Vec<&str> = words.iter().map(|(u, _)| u.as_str()).collect();
    let name_after = |i: usize| -> Option<String> {
        words
            .iter()
            .skip(i)
            .find(|(u, _)| !matches!(u.as_str(), "IF" | "EXISTS" | "NOT" | "ONLY"))
            .map(|(_, raw)| raw.clone())
    };
    let on_table = || {
        w.iter()
            .position(|x| *x == "ON")
            .and_then(|i| name_after(i + 1))
    };
    match w.as_slice() {
        ["ALTER", "TABLE", ..] => {
            if let Some(t) = name_after(2) {
                out.locks.push((t, LockMode::AccessExclusive));
            }
        }
        ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX", ..] => {
            if let Some(t) = on_table() {
                let concurrently = w.contains(&"CONCURRENTLY");
                out.locks.push((
                    t,
                    if concurrently {
                        LockMode::ShareUpdateExclusive
                    } else {
                        LockMode::Share
                    },
                ));
            }
        }
        ["CREATE", "TRIGGER", ..] | ["CREATE", "OR", "REPLACE", "TRIGGER", ..] => {
            if let Some(t) = on_table() {
                out.locks.push((t, LockMode::ShareRowExclusive));
            }
        }
        ["DROP", "TRIGGER", ..] => {
            if let Some(t) = on_table() {
                out.locks.push((t, LockMode::AccessExclusive));
            }
        }
        ["CREATE", "TABLE", ..] | ["CREATE", "UNLOGGED", "TABLE", ..] => {
            // e.g. `CREATE TABLE x ( LIKE y INCLUDING ALL )`, which sqlparser cannot read.
            let at = w.iter().position(|x| *x == "TABLE").unwrap_or(1);
            if let Some(t) = name_after(at + 1) {
                out.creates.push(t);
            }
            for (i, x) in w.iter().enumerate() {
                let mode = match *x {
                    "LIKE" => LockMode::AccessShare,
                    "REFERENCES" => LockMode::ShareRowExclusive,
                    _ => continue,
                };
                if let Some(t) = name_after(i + 1) {
                    out.locks.push((t, mode));
                }
            }
        }
        ["DROP", "TABLE", ..] => {
            if let Some(t) = name_after(2) {
                out.locks.push((t.clone(), LockMode::AccessExclusive));
                out.drops.push(t);
            }
        }
        _ => {}
    }
}

/// The words and quoted names of a statement: (upper-case form, name as written).
fn words(stmt: &str) -> Vec<(String, String)> {
    Tokenizer::new(&PostgreSqlDialect {}, stmt)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some((w.value.to_uppercase(), w.value)),
            _ => None,
        })
        .collect()
}

/// The body of `DO $$ ... $$`.
fn do_body(stmt: &str) -> Option<String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, stmt)
        .tokenize()
        .ok()?;
    let mut it = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)));
    match (it.next(), it.next()) {
        (Some(Token::Word(w)), Some(Token::DollarQuotedString(body)))
            if w.value.eq_ignore_ascii_case("DO") =>
        {
            Some(body.value)
        }
        _ => None,
    }
}

/// The SQL statement inside one `;`-separated piece of PL/pgSQL: the text from the first
/// command word that starts a statement (after BEGIN, THEN, ELSE, LOOP or at the start),
/// e.g. `ALTER TABLE ...` in `BEGIN ALTER TABLE ...` or `CREATE TABLE ...` in
/// `IF ... THEN CREATE TABLE ...`. None for control flow alone (`END IF`, handlers).
fn embedded_statement(piece: &str) -> Option<String> {
    const COMMANDS: &[&str] = &[
        "ALTER", "CREATE", "DROP", "INSERT", "UPDATE", "DELETE", "TRUNCATE",
    ];
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, piece)
        .tokenize()
        .ok()?;
    let mut at_start = true;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Whitespace(_) => {}
            Token::Word(w) => {
                let u = w.value.to_uppercase();
                if at_start && w.quote_style.is_none() && COMMANDS.contains(&u.as_str()) {
                    return Some(tokens[i..].iter().map(|t| t.to_string()).collect());
                }
                at_start = matches!(u.as_str(), "BEGIN" | "THEN" | "ELSE" | "LOOP");
            }
            _ => at_start = false,
        }
    }
    None
}

/// A lock of a finished transaction that makes some 2.8 traffic wait: which step held it
/// and when, so a slow 2.8 query can be attributed to the step it waited for.
#[derive(Debug, Clone)]
pub struct LockSpan {
    pub step: String,
    pub table: String,
    pub mode: LockMode,
    pub from: Instant,
    pub to: Instant,
}

/// One part of one step, as the recorder saw it.
#[derive(Debug, Clone)]
pub struct PartRecord {
    /// `core/019_320_to_330:up`.
    pub id: String,
    pub subsystem: String,
    pub migration: String,
    /// `up` or `teardown`, as in the step log.
    pub phase: &'static str,
    pub part: &'static str,
    pub duration: Duration,
    /// The longest single query Kong sends in this part (the whole transaction for `up`
    /// SQL: Kong sends it as one `BEGIN; ...; COMMIT;`), which Kong's --db-timeout bounds.
    pub longest_query: Duration,
    pub locks: Vec<LockHeld>,
}

#[derive(Debug, Clone, Copy)]
struct Holding {
    since: Instant,
    observed: bool,
    predicted: bool,
}

struct Open {
    part: PartRecord,
    started: Instant,
    /// Start of the Kong query (transaction) in progress.
    query_started: Option<Instant>,
    in_txn: BTreeMap<(String, LockMode), Holding>,
    held: BTreeMap<(String, LockMode), LockHeld>,
    created: BTreeSet<String>,
    dropped: BTreeSet<String>,
}

#[derive(Default)]
struct State {
    /// Tables that exist (committed), so predictions on absent tables (`IF EXISTS` on
    /// Enterprise-only tables) and on tables the step itself creates are left out.
    existing: BTreeSet<String>,
    open: Option<Open>,
    parts: Vec<PartRecord>,
    spans: Vec<LockSpan>,
    cache: HashMap<String, Predicted>,
}

/// Records each part's duration, longest Kong query and locks (`Hooks` for the runner,
/// `observe` for the pg_locks sampler).
#[derive(Default)]
pub struct Recorder {
    state: Mutex<State>,
}

impl Recorder {
    pub fn new(existing: BTreeSet<String>) -> Self {
        Recorder {
            state: Mutex::new(State {
                existing,
                ..Default::default()
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the sampler saw held by the migration's backend just now.
    pub fn observe(&self, seen: &[(String, LockMode)]) {
        let now = Instant::now();
        let mut st = self.state();
        let Some(open) = st.open.as_mut() else {
            return;
        };
        for (table, mode) in seen {
            let key = (table.clone(), *mode);
            if open.query_started.is_some() {
                open.in_txn
                    .entry(key)
                    .or_insert(Holding {
                        since: now,
                        observed: true,
                        predicted: false,
                    })
                    .observed = true;
            } else {
                // Seen after its transaction ended: a lock of a row-by-row step between rows.
                open.held
                    .entry(key)
                    .or_insert_with(|| held(table, *mode, 0))
                    .observed = true;
            }
        }
    }

    /// The parts recorded so far, and the spans of locks that block 2.8 traffic.
    pub fn take(&self) -> (Vec<PartRecord>, Vec<LockSpan>) {
        let mut st = self.state();
        (std::mem::take(&mut st.parts), std::mem::take(&mut st.spans))
    }
}

fn held(table: &str, mode: LockMode, held_ms: u64) -> LockHeld {
    LockHeld {
        table: table.to_string(),
        mode,
        held_ms,
        observed: false,
        predicted: false,
    }
}

impl State {
    fn end_transaction(&mut self, now: Instant) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if let Some(qs) = open.query_started.take() {
            open.part.longest_query = open.part.longest_query.max(now - qs);
        }
        for ((table, mode), h) in std::mem::take(&mut open.in_txn) {
            let ms = (now - h.since).as_millis() as u64;
            let e = open
                .held
                .entry((table.clone(), mode))
                .or_insert_with(|| held(&table, mode, 0));
            e.held_ms = e.held_ms.max(ms);
            e.observed |= h.observed;
            e.predicted |= h.predicted;
            if conflicts(mode, LockMode::RowExclusive) {
                self.spans.push(LockSpan {
                    step: open.part.id.clone(),
                    table,
                    mode,
                    from: h.since,
                    to: now,
                });
            }
        }
    }
}

impl Hooks for Recorder {
    fn part_started(&self, p: &Part<'_>) {
        self.state().open = Some(Open {
            part: PartRecord {
                id: p.id(),
                subsystem: p.subsystem.to_string(),
                migration: p.migration.to_string(),
                phase: p.phase(),
                part: p.part,
                duration: Duration::ZERO,
                longest_query: Duration::ZERO,
                locks: vec![],
            },
            started: Instant::now(),
            query_started: None,
            in_txn: BTreeMap::new(),
            held: BTreeMap::new(),
            created: BTreeSet::new(),
            dropped: BTreeSet::new(),
        });
    }

    fn query_started(&self, _p: &Part<'_>, sql: &str) {
        let now = Instant::now();
        let mut st = self.state();
        let pred = st
            .cache
            .entry(sql.to_string())
            .or_insert_with(|| predict(sql))
            .clone();
        let State { existing, open, .. } = &mut *st;
        let Some(open) = open.as_mut() else {
            return;
        };
        open.query_started.get_or_insert(now);
        open.created.extend(pred.creates.iter().cloned());
        for (table, mode) in pred.locks {
            if !existing.contains(&table) || open.created.contains(&table) {
                continue;
            }
            open.in_txn
                .entry((table, mode))
                .or_insert(Holding {
                    since: now,
                    observed: false,
                    predicted: true,
                })
                .predicted = true;
        }
        open.dropped.extend(pred.drops);
    }

    fn query_done(&self, _p: &Part<'_>, _sql: &str, commits: bool) {
        if commits {
            self.state().end_transaction(Instant::now());
        }
    }

    fn part_ended(&self, _p: &Part<'_>, _ok: bool) {
        let now = Instant::now();
        let mut st = self.state();
        // A failed part ends its transaction too (rolled back).
        st.end_transaction(now);
        let Some(mut open) = st.open.take() else {
            return;
        };
        open.part.duration = now - open.started;
        let mut locks: Vec<LockHeld> = open.held.into_values().collect();
        locks.sort_by(|a, b| b.mode.cmp(&a.mode).then_with(|| a.table.cmp(&b.table)));
        open.part.locks = locks;
        st.existing.extend(open.created);
        for t in &open.dropped {
            st.existing.remove(t);
        }
        st.parts.push(open.part);
    }
}

/// Tables of `schema` now.
pub async fn tables(c: &Client, schema: &str) -> Result<BTreeSet<String>> {
    Ok(c.query(sql::TABLES, &[&schema])
        .await
        .map_err(|e| Error::db("cannot list the tables a migration step can lock", e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Reads pg_locks for backend `pid` every few milliseconds until `stop`, handing what it
/// sees to `rec`. Returns how many samples it took.
pub async fn sample(
    c: Client,
    pid: i32,
    schema: String,
    rec: Arc<Recorder>,
    stop: Arc<AtomicBool>,
) -> Result<u64> {
    let q = c
        .prepare(sql::LOCKS_OF_BACKEND)
        .await
        .map_err(|e| Error::db("cannot prepare the pg_locks sample", e))?;
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let rows = c
            .query(&q, &[&pid, &schema])
            .await
            .map_err(|e| Error::db("cannot read pg_locks while a step runs", e))?;
        let seen: Vec<(String, LockMode)> = rows
            .iter()
            .filter_map(|r| {
                let mode: String = r.get(1);
                Some((r.get(0), LockMode::from_pg(&mode)?))
            })
            .collect();
        rec.observe(&seen);
        n += 1;
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use LockMode::*;

    fn locks(sql: &str) -> Vec<(String, LockMode)> {
        predict(sql).locks
    }

    #[test]
    fn each_command_takes_its_documented_level() {
        assert_eq!(
            locks("ALTER TABLE IF EXISTS ONLY \"upstreams\" ADD \"use_srv_name\" BOOLEAN DEFAULT false;"),
            [("upstreams".to_string(), AccessExclusive)]
        );
        assert_eq!(
            locks("CREATE INDEX IF NOT EXISTS \"k_idx\" ON \"keys\" USING GIN (\"tags\");"),
            [("keys".to_string(), Share)]
        );
        assert_eq!(
            locks("CREATE INDEX CONCURRENTLY k ON keys (set_id);"),
            [("keys".to_string(), ShareUpdateExclusive)]
        );
        assert_eq!(
            locks("DROP TRIGGER IF EXISTS \"t\" ON \"cluster_events\";"),
            [("cluster_events".to_string(), AccessExclusive)]
        );
        assert_eq!(
            locks("CREATE TRIGGER t AFTER INSERT ON cluster_events FOR EACH STATEMENT EXECUTE PROCEDURE f(\"expire_at\");"),
            [("cluster_events".to_string(), ShareRowExclusive)]
        );
        assert_eq!(
            locks("ALTER TABLE sm_vaults ADD CONSTRAINT f FOREIGN KEY(ws_id) REFERENCES workspaces(id);"),
            [
                ("workspaces".to_string(), ShareRowExclusive),
                ("sm_vaults".to_string(), ShareRowExclusive)
            ]
        );
        assert_eq!(
            locks("UPDATE routes SET paths = $1 WHERE id = $2"),
            [("routes".to_string(), RowExclusive)]
        );
        let p = predict("DROP TABLE IF EXISTS ttls;");
        assert_eq!(p.locks, [("ttls".to_string(), AccessExclusive)]);
        assert_eq!(p.drops, ["ttls"]);
    }

    #[test]
    fn do_blocks_are_read_inside() {
        let sql = "DO $$\n BEGIN\n ALTER TABLE IF EXISTS ONLY \"plugins\" ADD \"updated_at\" TIMESTAMP WITH TIME ZONE DEFAULT (CURRENT_TIMESTAMP(0) AT TIME ZONE 'UTC');\n EXCEPTION WHEN DUPLICATE_COLUMN THEN\n -- nothing\n END;\n$$;";
        assert_eq!(locks(sql), [("plugins".to_string(), AccessExclusive)]);
        let sql = "DO $$ BEGIN IF (SELECT to_regclass('vaults_beta')) IS NOT NULL THEN CREATE TABLE sm_vaults ( LIKE vaults_beta INCLUDING ALL ); END IF; END; $$;";
        let p = predict(sql);
        assert_eq!(p.creates, ["sm_vaults"]);
        assert_eq!(p.locks, [("vaults_beta".to_string(), AccessShare)]);
    }

    #[test]
    fn the_lts_migrations_that_alter_2_8_tables_are_seen() {
        let cat = crate::kong::lts::LtsCatalog::load().unwrap();
        let up = |sub: &str, m: &str| {
            let step = cat.subsystem(sub).unwrap().step(m).unwrap();
            predict(&cat.sql(step.up.as_deref().unwrap()).unwrap()).locks
        };
        let has = |l: &[(String, LockMode)], t: &str, m: LockMode| {
            l.iter().any(|(a, b)| a == t && *b == m)
        };
        assert!(has(
            &up("core", "017_300_to_310"),
            "upstreams",
            AccessExclusive
        ));
        let l019 = up("core", "019_320_to_330");
        for t in [
            "plugins",
            "ca_certificates",
            "targets",
            "upstreams",
            "workspaces",
        ] {
            assert!(has(&l019, t, AccessExclusive), "{t}: {l019:?}");
        }
        let l016 = up("core", "016_280_to_300");
        for t in ["targets", "upstreams", "routes"] {
            assert!(has(&l016, t, AccessExclusive), "{t}: {l016:?}");
        }
        assert!(has(&l019, "cluster_events", AccessExclusive), "{l019:?}");
        assert!(has(
            &up("rate-limiting", "005_320_to_330"),
            "ratelimiting_metrics",
            AccessExclusive
        ));
    }

    #[test]
    fn conflict_table_and_what_2_8_sees() {
        assert!(conflicts(AccessExclusive, AccessShare));
        assert!(!conflicts(Share, AccessShare));
        assert!(conflicts(Share, RowExclusive));
        assert!(!conflicts(RowExclusive, RowExclusive));
        assert_eq!(effect_on_28(AccessExclusive), "blocks 2.8 reads and writes");
        assert_eq!(effect_on_28(ShareRowExclusive), "blocks 2.8 writes");
        assert_eq!(effect_on_28(RowExclusive), "blocks no 2.8 traffic");
    }

    #[test]
    fn a_transaction_holds_its_locks_until_it_ends() {
        let rec = Recorder::new(["upstreams".to_string()].into());
        let p = Part {
            subsystem: "core",
            migration: "017_300_to_310",
            part: "up",
        };
        rec.part_started(&p);
        rec.query_started(&p, "BEGIN");
        rec.query_done(&p, "BEGIN", false);
        let alter = "ALTER TABLE upstreams ADD x int;";
        rec.query_started(&p, alter);
        rec.query_done(&p, alter, false);
        rec.observe(&[("upstreams".to_string(), AccessExclusive)]);
        std::thread::sleep(Duration::from_millis(20));
        rec.query_started(&p, "COMMIT");
        rec.query_done(&p, "COMMIT", true);
        rec.part_ended(&p, true);
        let (parts, spans) = rec.take();
        let l = &parts[0].locks[0];
        assert_eq!((l.table.as_str(), l.mode), ("upstreams", AccessExclusive));
        assert!(l.observed && l.predicted && l.held_ms >= 20, "{l:?}");
        assert!(parts[0].longest_query >= Duration::from_millis(20));
        assert_eq!(spans[0].step, "core/017_300_to_310:up");
    }
}
