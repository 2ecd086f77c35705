//! The traffic 2.8 nodes keep sending while `up` and `finish` run (router and plugin
//! rebuild reads, cluster_events polling, a key-auth lookup, rate-limiting counters), each
//! query class on its own connection in a bounded loop, timed. It never changes the
//! rehearsal's data: the one write is rolled back after it has waited for its locks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::kong::runner::builtin::LockMode;
use crate::pg::conn::ConnSpec;
use crate::pg::sql::forecast as sql;

/// Pause between two runs of one class: ten runs a second per class catch every lock held
/// long enough to matter (a wait of a second is a warning), and leave the migration it
/// watches nearly the whole machine.
const PACE: Duration = Duration::from_millis(100);
/// The loop's bound, whatever the phase's length.
const MAX_RUNS: u64 = 100_000;
/// Slow runs kept per class for attribution.
const KEEP_SLOW: usize = 50;
/// A run at least this slow is worth attributing to a lock.
pub const SLOW: Duration = Duration::from_millis(50);

/// One kind of query a 2.8 node sends.
#[derive(Debug, Clone)]
pub struct Class {
    /// What the node is doing, e.g. `router rebuild: routes`.
    pub query: &'static str,
    pub table: &'static str,
    /// The table lock the query requests.
    pub mode: LockMode,
    pub sql: String,
}

/// The classes, with `key` (a literal) for the key-auth lookup.
pub fn classes(key: &str) -> Vec<Class> {
    let read = |query, table: &'static str| Class {
        query,
        table,
        mode: LockMode::AccessShare,
        sql: sql::page(table),
    };
    vec![
        read("router rebuild: routes", "routes"),
        read("router rebuild: services", "services"),
        read("plugins iterator rebuild", "plugins"),
        read("balancer: upstreams", "upstreams"),
        read("balancer: targets", "targets"),
        read("certificate lookup: certificates", "certificates"),
        read("certificate lookup: snis", "snis"),
        Class {
            query: "cluster_events polling",
            table: "cluster_events",
            mode: LockMode::AccessShare,
            sql: sql::CLUSTER_EVENTS_POLL.into(),
        },
        Class {
            query: "key-auth credential lookup",
            table: "keyauth_credentials",
            mode: LockMode::AccessShare,
            sql: sql::keyauth_lookup(key),
        },
        Class {
            query: "rate-limiting counter upsert (policy = cluster)",
            table: "ratelimiting_metrics",
            mode: LockMode::RowExclusive,
            sql: sql::RATELIMITING_INCREMENT.into(),
        },
    ]
}

/// What one class saw during one phase.
#[derive(Debug, Clone)]
pub struct Runs {
    pub class: Class,
    pub runs: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// The slowest run: when it started and ended.
    pub slowest: Option<(Instant, Instant)>,
    /// Runs at least [`SLOW`], the first few.
    pub slow: Vec<(Instant, Instant)>,
}

impl Runs {
    pub fn max_wait(&self) -> Duration {
        self.slowest.map(|(s, e)| e - s).unwrap_or_default()
    }
}

/// A query class in the report: how often it ran, its worst wait, and the step behind it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassReport {
    pub query: String,
    pub table: String,
    pub runs: u64,
    pub max_wait_ms: u64,
    /// The step holding the lock its slowest run waited for.
    pub blocked_by: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Connects one client per class (so a connection problem shows before anything migrates)
/// and starts the loops; they run until `stop`.
pub async fn start(
    target: &ConnSpec,
    stop: Arc<AtomicBool>,
) -> Result<tokio::task::JoinHandle<Vec<Runs>>> {
    let probe = target.connect().await?;
    let key = probe
        .query_opt(sql::SOME_KEYAUTH_KEY, &[])
        .await
        .map_err(|e| Error::db("cannot pick a key-auth key for the 2.8 workload", e))?
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_else(|| "kong-rehearse-no-such-key".into());
    drop(probe);
    let mut loops = vec![];
    for class in classes(&sql::literal(&key)) {
        let client = target.connect().await?;
        loops.push((class, client));
    }
    Ok(tokio::spawn(async move {
        futures_util::future::join_all(
            loops
                .into_iter()
                .map(|(class, client)| run_class(class, client, stop.clone())),
        )
        .await
    }))
}

async fn run_class(class: Class, client: Client, stop: Arc<AtomicBool>) -> Runs {
    let mut r = Runs {
        class,
        runs: 0,
        errors: 0,
        first_error: None,
        slowest: None,
        slow: vec![],
    };
    while !stop.load(Ordering::Relaxed) && r.runs < MAX_RUNS {
        // The simple-query protocol, as pgmoon speaks it for Kong.
        let t0 = Instant::now();
        let res = client.simple_query(&r.class.sql).await;
        let t1 = Instant::now();
        r.runs += 1;
        if let Err(e) = res {
            r.errors += 1;
            if r.first_error.is_none() {
                r.first_error = Some(crate::error::describe_pg_error(&e));
            }
            if client.is_closed() {
                break;
            }
            // A write that failed leaves its transaction open and aborted; end it so the
            // next run is a fresh one. Its own failure would show on that next run.
            let _ = client.simple_query("ROLLBACK").await;
        }
        if r.slowest.is_none_or(|(s, e)| e - s < t1 - t0) {
            r.slowest = Some((t0, t1));
        }
        if t1 - t0 >= SLOW && r.slow.len() < KEEP_SLOW {
            r.slow.push((t0, t1));
        }
        tokio::time::sleep(PACE).await;
    }
    r
}
