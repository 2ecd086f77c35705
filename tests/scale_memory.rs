//! Data steps in batches and pre-flight reads in pages, on real throwaway servers: more rows
//! than one batch (or page) end exactly as Kong's one-UPDATE-per-row would leave them, a row
//! that fails in the middle of a later batch leaves exactly the rows before it rewritten and
//! is named, and hazards are found across page boundaries (and their lists stay bounded).

mod common;

use common::{fixture_db, TestDb};
use kong_rehearse::kong::lts::LtsCatalog;
use kong_rehearse::kong::runner::builtin::{
    Builtin, Flow, Hooks, Part, RunError, StepLog, DATA_STEP_BATCH,
};
use kong_rehearse::report::Progress;
use tokio_postgres::Client;

/// More routes and pre-function plugins than two batches hold: every route has a regex path
/// (016's up_f rewrites it), every plugin the deprecated `functions` (001's up_f moves it).
const BULK: usize = 2 * DATA_STEP_BATCH + 200;

async fn bulk(c: &Client) {
    c.batch_execute(&format!(
        "INSERT INTO routes (id, created_at, updated_at, name, service_id, protocols, paths,
                             regex_priority, strip_path, preserve_host, path_handling, ws_id,
                             https_redirect_status_code, request_buffering, response_buffering)
         SELECT md5('bulk-route-' || g)::uuid, '2021-01-01', '2021-06-01', 'bulk-' || g,
                (SELECT id FROM services ORDER BY id LIMIT 1), ARRAY['http'],
                ARRAY['/bulk/' || g || '/\\d+', '/plain/' || g], 0, true, false, 'v0',
                (SELECT id FROM workspaces LIMIT 1), 426, true, true
           FROM generate_series(1, {BULK}) g;
         INSERT INTO plugins (id, created_at, name, config, enabled, cache_key, protocols, ws_id)
         SELECT md5('bulk-plugin-' || g)::uuid, '2021-01-01', 'pre-function',
                jsonb_build_object('functions', jsonb_build_array('return ' || g),
                                   'certificate', '[]'::jsonb, 'rewrite', '[]'::jsonb,
                                   'access', '[]'::jsonb, 'header_filter', '[]'::jsonb,
                                   'body_filter', '[]'::jsonb, 'log', '[]'::jsonb),
                true, 'plugins:pre-function:bulk:' || g, ARRAY['http'],
                (SELECT id FROM workspaces LIMIT 1)
           FROM generate_series(1, {BULK}) g;"
    ))
    .await
    .unwrap();
}

async fn bulk_db() -> TestDb {
    let db = fixture_db().await;
    bulk(&db.client().await).await;
    db
}

/// Kong's own statements: one UPDATE per row.
struct PerRow;
impl Hooks for PerRow {
    fn rows_one_by_one(&self, _part: &Part<'_>) -> bool {
        true
    }
}

/// Cuts the connection before row `at` of `part`, as `--interrupt` does.
struct CutAt {
    part: &'static str,
    at: usize,
}
impl Hooks for CutAt {
    fn before_unit(&self, p: &Part<'_>, unit: &'static str, done: usize, _total: usize) -> Flow {
        if p.id() == self.part && unit == "row" && done == self.at {
            Flow::Cut
        } else {
            Flow::Go
        }
    }
}

fn runner(cat: &LtsCatalog) -> Builtin<'_> {
    Builtin {
        catalog: cat,
        progress: Progress { quiet: true },
    }
}

/// The rows the data steps touch, as text, in id order.
async fn end_state(c: &Client) -> Vec<String> {
    let mut out = vec![];
    for q in [
        "SELECT concat_ws(' ', id, paths, updated_at) FROM routes ORDER BY id",
        "SELECT concat_ws(' ', id, config) FROM plugins ORDER BY id",
        "SELECT subsystem || ' ' || coalesce(executed::text, '') || ' ' || coalesce(pending::text, '')
           FROM schema_meta ORDER BY subsystem",
    ] {
        for r in c.query(q, &[]).await.unwrap() {
            out.push(r.get(0));
        }
    }
    out
}

async fn configs(c: &Client) -> Vec<String> {
    c.query(
        "SELECT config::text FROM plugins WHERE name = 'pre-function' ORDER BY id",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn step<'a>(logs: &'a [StepLog], sub: &str, migration: &str, phase: &str) -> &'a StepLog {
    logs.iter()
        .find(|l| l.subsystem == sub && l.migration == migration && l.phase == phase)
        .unwrap_or_else(|| panic!("no {phase} step {sub}/{migration}"))
}

fn failure(
    r: Result<Vec<StepLog>, RunError>,
) -> Box<kong_rehearse::kong::runner::builtin::Failure> {
    match r {
        Err(RunError::Failed(f)) => f,
        Err(RunError::Env(e)) => panic!("not a migration failure: {e}"),
        Ok(_) => panic!("the step did not fail"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_data_steps_end_exactly_as_one_update_per_row() {
    let (a, b) = tokio::join!(bulk_db(), bulk_db());
    let cat = LtsCatalog::load().unwrap();
    let (ca, cb) = (a.client().await, b.client().await);
    let before = end_state(&ca).await;
    assert_eq!(before, end_state(&cb).await, "the two copies start equal");

    let mut batched = runner(&cat).up(&ca).await.unwrap();
    batched.extend(runner(&cat).finish(&ca).await.unwrap());
    let mut per_row = runner(&cat).up_with(&cb, &PerRow).await.unwrap();
    per_row.extend(runner(&cat).finish_with(&cb, &PerRow).await.unwrap());

    let (got, want) = (end_state(&ca).await, end_state(&cb).await);
    assert_ne!(got, before, "the data steps changed nothing");
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    let routes = step(&batched, "core", "016_280_to_300", "up");
    assert_eq!(
        routes.rows_rewritten,
        step(&per_row, "core", "016_280_to_300", "up").rows_rewritten
    );
    assert!(routes.rows_rewritten >= BULK as u64, "{routes:?}");
    for (b, p) in batched.iter().zip(&per_row) {
        assert_eq!(
            (
                &b.subsystem,
                &b.migration,
                b.phase,
                b.rows_rewritten,
                &b.quirks
            ),
            (
                &p.subsystem,
                &p.migration,
                p.phase,
                p.rows_rewritten,
                &p.quirks
            )
        );
        assert!(b.statements <= p.statements, "{b:?} vs {p:?}");
    }
    let pre = step(&batched, "pre-function", "001_280_to_300", "up");
    let pre_row = step(&per_row, "pre-function", "001_280_to_300", "up");
    assert!(
        pre.statements * 10 < pre_row.statements,
        "batched {} statements, per row {}",
        pre.statements,
        pre_row.statements
    );
}

/// A row the database refuses in the middle of the second batch: the batch is redone row by
/// row, so the rows before it are committed, it is named, and nothing after it is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_failing_in_the_second_batch_leaves_the_rows_before_it() {
    let db = bulk_db().await;
    let c = db.client().await;
    let ids: Vec<String> = c
        .query(
            "SELECT id::text FROM plugins WHERE name = 'pre-function' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let k = DATA_STEP_BATCH + DATA_STEP_BATCH / 2;
    assert!(ids.len() > DATA_STEP_BATCH * 2, "{}", ids.len());
    let bad = &ids[k];
    c.batch_execute(&format!(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
         CREATE TRIGGER refuse BEFORE UPDATE ON plugins FOR EACH ROW
           WHEN (OLD.id = '{bad}') EXECUTE FUNCTION refuse();"
    ))
    .await
    .unwrap();
    let original = configs(&c).await;

    let cat = LtsCatalog::load().unwrap();
    let f = failure(runner(&cat).up(&c).await);
    assert_eq!(
        (f.subsystem.as_str(), f.migration.as_str(), f.phase),
        ("pre-function", "001_280_to_300", "up")
    );
    assert!(f.statement.contains(bad.as_str()), "{}", f.statement);
    assert!(f.error.contains("refused by the test"), "{}", f.error);

    let after = configs(&db.client().await).await;
    let changed: Vec<bool> = original.iter().zip(&after).map(|(o, a)| o != a).collect();
    // Every pre-function row of this database is one 001's up_f rewrites.
    assert!(
        changed[..k].iter().all(|&c| c),
        "a row before {bad} was not rewritten"
    );
    assert!(
        changed[k..].iter().all(|&c| !c),
        "{bad} or a row after it was rewritten"
    );
    assert_eq!(f.step.rows_rewritten, k as u64);
}

/// A route whose path Kong's Lua cannot convert, in the middle of the second batch: the step
/// fails naming it, with exactly the routes before it rewritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_the_transform_refuses_leaves_the_routes_before_it() {
    let db = bulk_db().await;
    let c = db.client().await;
    let rows = c
        .query(
            "SELECT id::text, paths FROM routes WHERE paths IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let k = DATA_STEP_BATCH + DATA_STEP_BATCH / 3;
    let bad: String = rows[k].get(0);
    c.execute(
        "UPDATE routes SET paths = ARRAY['/bad%FFbyte'] WHERE id = $1::text::uuid",
        &[&bad],
    )
    .await
    .unwrap();
    let original: Vec<Vec<String>> = c
        .query(
            "SELECT paths FROM routes WHERE paths IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    let cat = LtsCatalog::load().unwrap();
    let f = failure(runner(&cat).up(&c).await);
    assert_eq!(
        (f.subsystem.as_str(), f.migration.as_str()),
        ("core", "016_280_to_300")
    );
    assert!(f.statement.contains(&bad), "{}", f.statement);

    let after: Vec<Vec<String>> = c
        .query(
            "SELECT paths FROM routes WHERE paths IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut rewritten = 0;
    for (i, (o, a)) in original.iter().zip(&after).enumerate() {
        let want = if i < k {
            kong_rehearse::kong::transforms::migrate_route_paths(o).unwrap_or_else(|| o.clone())
        } else {
            o.clone()
        };
        if i < k && &want != o {
            rewritten += 1;
        }
        assert_eq!(a, &want, "route {i} of {}", original.len());
    }
    assert_eq!(f.step.rows_rewritten, rewritten);
}

/// `--interrupt` at a row of a later batch: the rows before it are committed (the pending
/// batch is written first), none after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_at_a_row_of_a_later_batch_commits_exactly_the_rows_before_it() {
    let db = bulk_db().await;
    let c = db.client().await;
    let q = "SELECT paths FROM routes WHERE paths IS NOT NULL ORDER BY id";
    let original: Vec<Vec<String>> = c
        .query(q, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let at = DATA_STEP_BATCH + 123;
    let cat = LtsCatalog::load().unwrap();
    let f = failure(
        runner(&cat)
            .up_with(
                &c,
                &CutAt {
                    part: "core/016_280_to_300:up_f",
                    at,
                },
            )
            .await,
    );
    assert!(f.error.contains("cut"), "{}", f.error);
    assert!(
        f.statement.contains(&format!("row {}", at + 1)),
        "{}",
        f.statement
    );
    let after: Vec<Vec<String>> = db
        .client()
        .await
        .query(q, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (i, (o, a)) in original.iter().zip(&after).enumerate() {
        let want = if i < at {
            kong_rehearse::kong::transforms::migrate_route_paths(o).unwrap_or_else(|| o.clone())
        } else {
            o.clone()
        };
        assert_eq!(a, &want, "route {i}");
    }
}

/// Runtime hazards over more routes than a page: a regex_priority ordering between a route of
/// the first page and one of the last is found, every path_handling v1 route is counted, and
/// the list holds the first LISTED_PER_RULE of them. The data hazards are found on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hazards_are_found_across_pages_and_their_lists_are_bounded() {
    use kong_rehearse::preflight::data_hazards::{self, LISTED_PER_RULE};
    use kong_rehearse::preflight::runtime::{RULE_PATH_HANDLING_V1, RULE_REGEX_PRIORITY_ORDER};

    let db = bulk_db().await;
    let c = db.client().await;
    let ids: Vec<String> = c
        .query("SELECT id::text FROM routes ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (first, last) = (&ids[0], &ids[ids.len() - 1]);
    // Same matching fields (paths only); 1024 << 19 collides with the match-weight bit, so
    // 3.4.2 ties `first` with `last` although 2.8 tried `first` first.
    c.batch_execute(&format!(
        "UPDATE routes SET hosts = NULL, methods = NULL, headers = NULL, snis = NULL;
         UPDATE routes SET paths = ARRAY['/first/\\d+'], regex_priority = 1024 WHERE id = '{first}';
         UPDATE routes SET paths = ARRAY['/last/\\d+'], regex_priority = 0 WHERE id = '{last}';
         UPDATE routes SET regex_priority = 10 WHERE id NOT IN ('{first}', '{last}');
         UPDATE routes SET path_handling = 'v1';
         UPDATE routes SET paths = ARRAY['/bad%FFbyte'] WHERE id IN ('{}', '{}');",
        ids[1],
        ids[ids.len() - 2]
    ))
    .await
    .unwrap();
    let total = ids.len();
    assert!(total > 2 * 500, "{total}");

    let rt = data_hazards::runtime(&c, "public").await.unwrap();
    let order: Vec<_> = rt
        .findings
        .iter()
        .filter(|f| f.kind == RULE_REGEX_PRIORITY_ORDER)
        .collect();
    let on_first = order
        .iter()
        .find(|f| f.entity.id() == Some(first.as_str()))
        .unwrap_or_else(|| panic!("no ordering finding on {first}: {order:#?}"));
    assert!(
        on_first.message.contains(last.as_str()),
        "{}",
        on_first.message
    );
    assert_eq!(rt.counts[RULE_PATH_HANDLING_V1], total);
    let listed = rt
        .findings
        .iter()
        .filter(|f| f.kind == RULE_PATH_HANDLING_V1)
        .count();
    assert_eq!(listed, LISTED_PER_RULE);
    assert_eq!(rt.total(), rt.findings.len() + rt.unlisted());
    let note = rt.unlisted_note().unwrap();
    assert!(
        note.contains(&format!("{RULE_PATH_HANDLING_V1}: {total}")),
        "{note}"
    );
    // The listed ones are the first by id.
    let v1_ids: Vec<&str> = rt
        .findings
        .iter()
        .filter(|f| f.kind == RULE_PATH_HANDLING_V1)
        .filter_map(|f| f.entity.id())
        .collect();
    let want: Vec<&str> = ids[..LISTED_PER_RULE].iter().map(String::as_str).collect();
    assert_eq!(v1_ids, want);

    // The data hazards come from the same one read of routes and plugins, which still judges
    // the runtime rules the same.
    let (found, same) = data_hazards::find(&c, "public").await.unwrap();
    assert_eq!(same.counts, rt.counts);
    let bad: Vec<_> = found
        .iter()
        .filter(|p| p.message.contains("/bad%FFbyte"))
        .collect();
    assert_eq!(bad.len(), 2, "{found:#?}");
    assert!(bad[1].message.contains(ids[ids.len() - 2].as_str()));
}
