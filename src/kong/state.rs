//! The state judge: is this exactly a complete Kong 2.8.5 database, ready for the 2.8 → 3.4
//! LTS path? A pure function of (schema_meta rows, LTS catalog, observed schema); all I/O
//! is in `read_state`.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::history::History;
use super::lts::{LtsCatalog, Subsystem};
use super::plugins::Plugins;
use super::schema_meta::Row;
use crate::error::Result;
use crate::pg::catalog::Catalog;
use crate::report::{Kind, Problem};

/// Core migration names only Kong Enterprise uses (CE has 014_230_to_270, 015_270_to_280).
const EE_CORE_NAMES: &[&str] = &["014_230_to_260", "015_260_to_270", "016_270_to_280"];
/// Subsystems that exist only in Kong Enterprise.
const EE_SUBSYSTEMS: &[&str] = &[
    "enterprise",
    "canary",
    "degraphql",
    "graphql-proxy-cache-advanced",
    "graphql-rate-limiting-advanced",
    "jwt-signer",
    "key-auth-enc",
    "mtls-auth",
    "oauth2-introspection",
    "openid-connect",
    "proxy-cache-advanced",
    "rate-limiting-advanced",
    "request-validator",
    "vault-auth",
];
/// Tables only a Kong Enterprise schema has.
const EE_TABLES: &[&str] = &[
    "rbac_users",
    "rbac_roles",
    "workspace_entities",
    "workspace_entity_counters",
    "admins",
    "developers",
    "audit_requests",
    "consumer_groups",
];

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Subsystems the user takes responsibility for (custom plugins).
    pub allow_unknown: Vec<String>,
    /// What Kong 3.4 loads (`plugins` / KONG_PLUGINS); the catalog handed to [`judge`] should
    /// be restricted to it ([`LtsCatalog::restrict`]).
    pub plugins: Plugins,
}

/// A recorded name that Kong 3.4.2 does not list but an earlier Kong release shipped (e.g.
/// 1.x's `001_14_to_15`): `State.load` ignores it, so it is history, not a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryName {
    pub migration: String,
    /// The releases that listed it, e.g. `1.0.0 … 1.5.1`.
    pub releases: String,
}

/// A subsystem as Kong 3.4.2's `State.load` would classify it, plus our verdict on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubsystemState {
    pub subsystem: String,
    /// In the LTS catalog (false: unknown, custom or Enterprise).
    pub known: bool,
    pub executed: Vec<String>,
    pub pending: Vec<String>,
    /// What Kong 3.4.2's `kong migrations up` would run.
    pub new: Vec<String>,
    /// Kong's "missing": the recorded last_executed is in neither list.
    pub missing: Vec<String>,
    /// Recorded names from earlier Kong releases, which Kong 3.4.2 ignores (information;
    /// left out when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryName>,
    /// `ok`, `not_loaded` (the plugin is not in `plugins`, so Kong runs none of its
    /// migrations), `allowed`, or the kind of the first problem found in this subsystem.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub eligible: bool,
    pub subsystems: Vec<SubsystemState>,
    pub problems: Vec<Problem>,
    /// Noted, not blocking (an allowed unknown subsystem, a disabled plugin).
    pub warnings: Vec<String>,
}

/// What was read from the database, in one snapshot.
pub struct Observed<'a> {
    /// None when there is no `schema_meta` table at all.
    pub schema_meta: Option<&'a [Row]>,
    pub catalog: &'a Catalog,
    /// `plugins` rows per plugin name (None: not read, or no `plugins` table).
    pub plugins_in_use: Option<&'a [(String, i64)]>,
}

/// Errors only when the embedded history data is unreadable (a broken build).
pub fn judge(obs: &Observed, cat: &LtsCatalog, opts: &Options) -> Result<Verdict> {
    let mut v = Verdict {
        eligible: false,
        subsystems: vec![],
        problems: vec![],
        warnings: vec![],
    };
    let Some(rows) = obs.schema_meta else {
        v.problems.push(
            Problem::new(
                Kind::NotKong,
                format!(
                    "there is no schema_meta table in schema `{}`, so this is not a Kong database \
                     (or Kong lives in another schema)",
                    obs.catalog.schema
                ),
            )
            .fix("Point --db at the Kong database, and pass --schema with Kong's pg_schema if it is not `public`."),
        );
        return Ok(v);
    };

    if let Some(p) = enterprise(rows, obs.catalog) {
        v.problems.push(p);
        v.subsystems = rows
            .iter()
            .map(|r| kong_state(r.subsystem.as_str(), Some(r), &[]))
            .collect();
        return Ok(v);
    }

    let by_name: HashMap<&str, &Row> = rows.iter().map(|r| (r.subsystem.as_str(), r)).collect();
    if !by_name.contains_key("core") {
        v.problems.push(
            Problem::new(
                Kind::Partial,
                "schema_meta has no `core` row: Kong's bootstrap never finished, or the row was \
                 deleted; Kong 3.4 would treat every core migration as new and re-run 000_base \
                 on a database that already has tables",
            )
            .subsystem("core")
            .fix("Restore this database from a good backup; do not upgrade it as it is."),
        );
    }

    let history = History::load()?;
    for sub in &cat.subsystems {
        let row = by_name.get(sub.name.as_str()).copied();
        let before = v.problems.len();
        let mut st = kong_state(&sub.name, row, &sub.migrations_3_4);
        judge_subsystem(sub, row, obs.catalog, opts, &history, &mut st, &mut v);
        st.verdict = v.problems[before..]
            .first()
            .map(|p| p.kind.as_str().to_string())
            .unwrap_or_else(|| "ok".into());
        v.subsystems.push(st);
    }
    for sub in &cat.not_loaded {
        let row = by_name.get(sub.name.as_str()).copied();
        let mut st = kong_state(&sub.name, row, &[]);
        st.known = true;
        st.verdict = "not_loaded".into();
        if row.is_some() {
            v.warnings.push(format!(
                "`{}` is not loaded by Kong 3.4 ({}): Kong runs none of its migrations ({} \
                 would run once it is loaded) and leaves its tables as they are",
                sub.name,
                opts.plugins.describe(),
                list(
                    &sub.sequence
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                ),
            ));
        }
        v.subsystems.push(st);
    }

    for r in rows {
        if cat.subsystem(&r.subsystem).is_some() || cat.not_loaded(&r.subsystem).is_some() {
            continue;
        }
        let mut st = kong_state(&r.subsystem, Some(r), &[]);
        st.known = false;
        if opts.plugins.explicit && !opts.plugins.loads(&r.subsystem) {
            // Kong loads subsystems only for loaded plugins: this row is never read.
            v.warnings.push(format!(
                "schema_meta has a row for `{}`, a plugin Kong 3.4 will not load ({}): Kong \
                 ignores it",
                r.subsystem,
                opts.plugins.describe()
            ));
            st.verdict = "not_loaded".into();
        } else if opts.allow_unknown.iter().any(|a| a == &r.subsystem) {
            v.warnings.push(format!(
                "subsystem `{}` is not in the LTS catalog; allowed by --allow-unknown, so its \
                 migrations are your responsibility",
                r.subsystem
            ));
            st.verdict = "allowed".into();
        } else {
            v.problems.push(
                Problem::new(
                    Kind::UnknownMigration,
                    format!(
                        "subsystem `{}` (executed: {}) is not a Kong OSS 2.8.5 bundled plugin, so \
                         the LTS catalog cannot say what 3.4 does to it",
                        r.subsystem,
                        list(r.executed.as_deref().unwrap_or(&[]))
                    ),
                )
                .subsystem(&r.subsystem)
                .fix(format!(
                    "If `{0}` is a custom plugin whose 3.4 migrations you have checked, rerun \
                     with `--allow-unknown {0}`; otherwise rehearse with a Kong build that ships it.",
                    r.subsystem
                )),
            );
            st.verdict = Kind::UnknownMigration.as_str().into();
        }
        v.subsystems.push(st);
    }

    if let Some(p) = rollback_leftovers(cat, rows, obs.catalog) {
        v.problems.insert(0, p);
    }
    plugins_not_loaded(obs, opts, &mut v);
    v.eligible = v.problems.is_empty();
    Ok(v)
}

/// `plugins` rows whose plugin 3.4 will not load: Kong 3.4.2 refuses to start on them
/// ("error building initial plugins: <name> plugin is in use but not enabled",
/// kong/runloop/plugins_iterator.lua). With Kong's default list assumed rather than given, a
/// custom plugin is only a warning: production may well load it.
fn plugins_not_loaded(obs: &Observed, opts: &Options, v: &mut Verdict) {
    let p = &opts.plugins;
    for (plugin, rows) in obs.plugins_in_use.unwrap_or(&[]) {
        if p.loads(plugin) {
            continue;
        }
        if !p.explicit {
            if !opts.allow_unknown.iter().any(|a| a == plugin) {
                v.warnings.push(format!(
                    "{rows} `plugins` row(s) use `{plugin}`, which Kong 3.4.2's default \
                     `plugins = bundled` does not load; if production's `plugins` does not list \
                     it, 3.4 nodes refuse to start. Pass the production kong.conf \
                     (--kong-conf) or KONG_PLUGINS so the rehearsal knows"
                ));
            }
            continue;
        }
        v.problems.push(
            Problem::new(
                Kind::PluginNotLoaded,
                format!(
                    "{rows} `plugins` row(s) use `{plugin}`, which Kong 3.4 will not load \
                     ({}): 3.4 nodes refuse to start (\"error building initial plugins: \
                     {plugin} plugin is in use but not enabled\")",
                    p.describe()
                ),
            )
            .object(format!("plugins where name = '{plugin}'"))
            .fix(format!(
                "Add `{plugin}` to `plugins` (kong.conf or KONG_PLUGINS) of the 3.4 nodes, and install it if it is a custom plugin; or delete its plugin rows (Admin API) before the upgrade."
            )),
        );
    }
}

/// A database whose schema_meta records no 3.x migration, yet which carries 3.x objects: the
/// leftovers of a rollback with `pg_restore --clean` (or of an interrupted upgrade).
fn rollback_leftovers(cat: &LtsCatalog, rows: &[Row], schema: &Catalog) -> Option<Problem> {
    let any_3x_recorded = cat.subsystems.iter().any(|sub| {
        rows.iter()
            .filter(|r| r.subsystem == sub.name)
            .flat_map(|r| r.executed.iter().chain(&r.pending).flatten())
            .any(|m| sub.step(m).is_some())
    });
    if any_3x_recorded {
        return None;
    }
    let mut leftovers: Vec<String> = vec![];
    for step in cat.subsystems.iter().flat_map(|s| &s.sequence) {
        for e in &step.effects.up {
            if matches!(
                e.op.as_str(),
                "create_table" | "add_column" | "create_function"
            ) && !e
                .condition
                .as_deref()
                .is_some_and(|c| c.starts_with("EE only"))
                && e.present_in(schema) == Some(true)
            {
                if let Some(o) = e.created_object() {
                    if !leftovers.contains(&o) {
                        leftovers.push(o);
                    }
                }
            }
        }
    }
    if leftovers.is_empty() {
        return None;
    }
    Some(
        Problem::new(
            Kind::Partial,
            format!(
                "schema_meta says Kong 2.8.5, but the database carries 3.x objects: {}. These \
                 are the leftovers of a rollback with `pg_restore --clean` (or of an \
                 interrupted upgrade). A second upgrade on it would skip copying the vaults \
                 (sm_vaults already exists), so their data is lost when `finish` drops \
                 vaults_beta, and it would prefix already-migrated `~` route paths a second \
                 time (`~~`)",
                leftovers.join(", ")
            ),
        )
        .subsystem("core")
        .object(leftovers[0].clone())
        .fix("Roll back properly: `DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT USAGE ON SCHEMA public TO PUBLIC;` (or drop and re-create the database), `pg_restore --exit-on-error` the pre-upgrade backup, then check it with `kong-rehearse rollback-check`."),
    )
}

fn judge_subsystem(
    sub: &Subsystem,
    row: Option<&Row>,
    schema: &Catalog,
    opts: &Options,
    history: &History,
    st: &mut SubsystemState,
    v: &mut Verdict,
) {
    let name = sub.name.as_str();
    let Some(row) = row else {
        if sub.name == "core" || sub.new_in_3_x {
            return; // core: reported above; new subsystems have no row in 2.8
        }
        let applied: Vec<String> = sub
            .executed_2_8
            .iter()
            .flat_map(|m| sub.effects_28(m))
            .filter(|e| e.present_in(schema) == Some(true) && e.op == "create_table")
            .filter_map(|e| e.created_object())
            .collect();
        if applied.is_empty() {
            v.warnings.push(format!(
                "plugin subsystem `{name}` has no schema_meta row (the plugin was not enabled in \
                 2.8); Kong 3.4 will run all its migrations from the start if it is enabled"
            ));
        } else {
            v.problems.push(
                Problem::new(
                    Kind::Partial,
                    format!(
                        "`{name}` has no schema_meta row, yet its objects exist ({}): Kong 3.4 \
                         would re-run its base migration on existing tables",
                        applied.join(", ")
                    ),
                )
                .subsystem(name)
                .fix("Restore a backup whose schema_meta matches its tables, or re-record the plugin with Kong 2.8.5 (`kong migrations up` with the plugin enabled)."),
            );
        }
        return;
    };

    let executed: Vec<&str> = row
        .executed
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(String::as_str)
        .collect();
    let pending: Vec<&str> = row
        .pending
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(String::as_str)
        .collect();
    let is_28 = |m: &str| sub.executed_2_8.iter().any(|x| x == m);
    let is_3x = |m: &str| !is_28(m) && sub.migrations_3_4.iter().any(|x| x == m);

    // Names the catalog does not know inside a known subsystem: a name an earlier Kong
    // release shipped is history (Kong 3.4.2's `State.load` walks its own list and never looks
    // at it); anything else is unknown.
    let allowed = opts.allow_unknown.iter().any(|a| a == name);
    for m in executed.iter().chain(&pending) {
        if is_28(m) || is_3x(m) {
            continue;
        }
        if let Some(shipped) = history.shipped(name, m) {
            if executed.contains(m) && !st.history.iter().any(|h| h.migration == *m) {
                st.history.push(HistoryName {
                    migration: m.to_string(),
                    releases: shipped.span(),
                });
            }
            continue;
        }
        if allowed {
            v.warnings.push(format!(
                "`{name}/{m}` is not in the LTS catalog; allowed by --allow-unknown"
            ));
        } else {
            v.problems.push(
                Problem::new(
                    Kind::UnknownMigration,
                    format!(
                        "`{name}` has recorded migration `{m}`, which no Kong OSS release from \
                         1.0.0 to 2.8.5 nor 3.4.2 has"
                    ),
                )
                .subsystem(name)
                .migration(m)
                .fix(format!(
                    "Find out which Kong build wrote it; if you have checked it, rerun with `--allow-unknown {name}`."
                )),
            );
        }
    }

    for m in &pending {
        let (what, fix) = if is_3x(m) {
            (
                "Kong 3.x `kong migrations up` ran but `kong migrations finish` did not: the database is mid-upgrade".to_string(),
                "Finish that upgrade (`kong migrations finish` with Kong 3.4) or restore the pre-upgrade backup, then rehearse from the restored 2.8.5 database.".to_string(),
            )
        } else if is_28(m) {
            (
                "its `up` ran but its teardown (`kong migrations finish`) did not".to_string(),
                "Run `kong migrations finish` with Kong 2.8.x to complete the 2.8 migrations, then rehearse again.".to_string(),
            )
        } else {
            (
                format!(
                    "its `up` ran but its teardown never did, and no Kong from 2.0 on lists `{m}` \
                     any more, so no `kong migrations finish` of 2.8.5 or 3.4.2 will ever run it"
                ),
                "Restore a backup taken before the interrupted upgrade, or finish it with the Kong release that shipped the migration, then upgrade to 2.8.5 and rehearse again.".to_string(),
            )
        };
        v.problems.push(
            Problem::new(Kind::Partial, format!("`{name}/{m}` is pending: {what}"))
                .subsystem(name)
                .migration(m)
                .fix(fix),
        );
    }

    // Order inside `executed` is never a problem: Kong's `finish` appends each teardown's
    // name when it completes, so every database upgraded across a teardown records them out
    // of code order, and `State.load` only asks whether a name is recorded. Duplicates are
    // noted.
    let mut dup = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for m in &executed {
        if !seen.insert(*m) {
            dup.insert(*m);
        }
    }
    if !dup.is_empty() {
        v.warnings.push(format!(
            "`{name}` records {} more than once (a `kong migrations --force` run)",
            dup.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }

    // What really makes Kong run the LTS sequence wrongly.
    let recorded: BTreeSet<&str> = executed.iter().chain(&pending).copied().collect();
    let last = row.last_executed.as_deref();
    if let Some(l) = last.filter(|l| !recorded.contains(l)) {
        let (what, fix) = if st.missing.iter().any(|m| m == l) {
            (
                format!(
                    "Kong 3.4.2 classifies `{l}` as missing: `kong migrations up` and `finish` \
                     never run a missing migration, and 3.4 nodes only log \"database is \
                     missing some migrations\", so whatever `{l}` creates stays absent"
                ),
                format!("Find out whether `{l}` really ran: restore a backup whose schema_meta matches its schema, or record it only if its objects are all present, then rehearse again."),
            )
        } else {
            (
                format!(
                    "Kong 3.4.2 does not list `{l}`, so it ignores last_executed and treats \
                     every unrecorded migration as new: schema_meta was edited or comes from \
                     another build"
                ),
                "Restore a backup whose schema_meta matches its schema, or set last_executed to the last recorded migration, then rehearse again.".to_string(),
            )
        };
        v.problems.push(
            Problem::new(
                Kind::OutOfOrder,
                format!("`{name}`: last_executed names `{l}`, which is not recorded in executed or pending; {what}"),
            )
            .subsystem(name)
            .migration(l)
            .fix(fix),
        );
    }
    let pos28 = |m: &str| sub.executed_2_8.iter().position(|x| x == m);
    let max = recorded.iter().filter_map(|m| pos28(m)).max();
    if let Some(max) = max {
        for m in &sub.executed_2_8[..max] {
            if !recorded.contains(m.as_str()) && last != Some(m.as_str()) {
                v.problems.push(
                    Problem::new(
                        Kind::OutOfOrder,
                        format!(
                            "`{name}`: `{m}` is not recorded, but the later `{}` is (a gap); \
                             Kong 3.4.2 classifies `{m}` as new, so its `kong migrations up` \
                             runs `{m}` again, before the 3.x migrations, on a schema that \
                             later migrations already changed",
                            sub.executed_2_8[max]
                        ),
                    )
                    .subsystem(name)
                    .migration(m)
                    .fix(GAP_FIX),
                );
            }
        }
    }
    let trailing: Vec<&str> = sub.executed_2_8[max.map_or(0, |m| m + 1)..]
        .iter()
        .map(String::as_str)
        .filter(|m| !recorded.contains(m) && last != Some(*m))
        .collect();
    let any_3x = executed.iter().chain(&pending).any(|m| is_3x(m));
    if !trailing.is_empty() {
        let applied = unrecorded_but_applied(sub, &trailing, schema);
        if any_3x {
            v.problems.push(
                Problem::new(
                    Kind::OutOfOrder,
                    format!(
                        "`{name}`: 3.x migrations are recorded while the 2.8 migrations {} are \
                         not; Kong 3.4.2 classifies them as new and its `kong migrations up` \
                         runs them now, after the 3.x migrations that depend on them",
                        list(&trailing)
                    ),
                )
                .subsystem(name)
                .migration(trailing[0])
                .fix(GAP_FIX),
            );
        } else if !applied.is_empty() {
            for (m, objs) in applied {
                v.problems.push(
                    Problem::new(
                        Kind::Partial,
                        format!(
                            "`{name}/{m}` is not recorded in schema_meta, but its effects are \
                             present ({}): Kong commits the SQL and the bookkeeping separately, \
                             and a crash between them leaves exactly this",
                            objs.join(", ")
                        ),
                    )
                    .subsystem(name)
                    .migration(m)
                    .fix(PARTIAL_FIX),
                );
            }
        } else {
            let ends = max
                .map(|m| sub.executed_2_8[m].as_str())
                .unwrap_or("nothing");
            v.problems.push(
                Problem::new(
                    Kind::NotLtsSource,
                    format!(
                        "`{name}` ends at `{ends}`, but Kong 2.8.5 has also run {}: this database \
                         is older than Kong 2.8, and the 2.8 → 3.4 LTS path would run \
                         migrations in the wrong sequence",
                        list(&trailing)
                    ),
                )
                .subsystem(name)
                .migration(trailing[0])
                .fix("Upgrade to Kong 2.8.x first (`kong migrations up`, then `kong migrations finish`, with 2.8.5), then rehearse the LTS path."),
            );
        }
    }

    // Recorded migrations must have left their objects, except what a recorded 3.x
    // migration has since dropped (020 drops ttls, 016's teardown drops vaults_beta).
    let dropped: BTreeSet<&str> = executed
        .iter()
        .filter_map(|m| sub.step(m))
        .flat_map(|s| s.effects.up.iter().chain(&s.effects.teardown))
        .filter(|e| e.op == "drop_table")
        .filter_map(|e| e.table.as_deref())
        .collect();
    for m in executed.iter().filter(|m| is_28(m)) {
        let missing: Vec<String> = sub
            .effects_28(m)
            .iter()
            .filter(|e| !e.table.as_deref().is_some_and(|t| dropped.contains(t)))
            .filter(|e| {
                matches!(
                    e.op.as_str(),
                    "create_table" | "add_column" | "create_trigger" | "create_function"
                )
            })
            .filter(|e| !e.is_conditional() && e.present_in(schema) == Some(false))
            .filter_map(|e| e.created_object())
            .collect();
        if !missing.is_empty() {
            v.problems.push(
                Problem::new(
                    Kind::Partial,
                    format!(
                        "`{name}/{m}` is recorded as executed, but what it creates is absent: {}",
                        missing.join(", ")
                    ),
                )
                .subsystem(name)
                .migration(m)
                .object(missing[0].clone())
                .fix(PARTIAL_FIX),
            );
        }
    }
    let mut recorded_3x_ok = vec![];
    for m in executed.iter().filter(|m| is_3x(m)) {
        let Some(step) = sub.step(m) else { continue };
        let missing: Vec<String> = step
            .effects
            .up
            .iter()
            .filter(|e| !e.is_conditional() && e.present_in(schema) == Some(false))
            .filter_map(|e| e.created_object().or_else(|| Some(e.describe())))
            .collect();
        if missing.is_empty() {
            recorded_3x_ok.push(*m);
        } else {
            v.problems.push(
                Problem::new(
                    Kind::Partial,
                    format!(
                        "`{name}/{m}` (a 3.x migration) is recorded as executed, but its effects \
                         are absent: {}",
                        missing.join(", ")
                    ),
                )
                .subsystem(name)
                .migration(m)
                .object(missing[0].clone())
                .fix(PARTIAL_FIX),
            );
        }
    }
    if !recorded_3x_ok.is_empty() && pending.is_empty() && trailing.is_empty() {
        v.problems.push(
            Problem::new(
                Kind::NotLtsSource,
                format!(
                    "`{name}` has already run 3.x migrations ({}): this database is partly or \
                     fully upgraded past 2.8",
                    list(&recorded_3x_ok)
                ),
            )
            .subsystem(name)
            .migration(recorded_3x_ok[0])
            .fix("The 2.8 → 3.4 LTS path starts from a complete 2.8.5 database: rehearse from a backup taken before the upgrade, or follow the upgrade guide of the version this database is on."),
        );
    }

    // 3.x effects present without their record (a crash between DDL and bookkeeping).
    let unrecorded: Vec<&str> = sub
        .sequence
        .iter()
        .map(|s| s.name.as_str())
        .filter(|m| !recorded.contains(m))
        .collect();
    for (m, objs) in unrecorded_but_applied(sub, &unrecorded, schema) {
        v.problems.push(
            Problem::new(
                Kind::Partial,
                format!(
                    "`{name}/{m}` is not recorded in schema_meta, but its effects are present \
                     ({}): part of a 3.x upgrade ran",
                    objs.join(", ")
                ),
            )
            .subsystem(name)
            .migration(m)
            .object(objs[0].clone())
            .fix(PARTIAL_FIX),
        );
    }
}

/// For unrecorded migrations, the objects they create that are nevertheless present.
fn unrecorded_but_applied<'a>(
    sub: &Subsystem,
    names: &[&'a str],
    schema: &Catalog,
) -> Vec<(&'a str, Vec<String>)> {
    let mut out = vec![];
    for m in names {
        let effects = match sub.step(m) {
            Some(step) => step.effects.up.as_slice(),
            None => sub.effects_28(m),
        };
        let present: Vec<String> = effects
            .iter()
            .filter(|e| e.op != "drop_table" && e.present_in(schema) == Some(true))
            .filter_map(|e| e.created_object())
            .collect();
        if !present.is_empty() {
            out.push((*m, present));
        }
    }
    out
}

const GAP_FIX: &str = "Make schema_meta say what is really applied: if the migration's objects are all present, its record was lost (restore a consistent backup, or re-record it with Kong 2.8.5); if they are absent, run it with Kong 2.8.5 (`kong migrations up`, then `finish`) before the LTS upgrade; then rehearse again.";
const PARTIAL_FIX: &str = "Do not upgrade this database as it is: restore it from a backup taken before the interrupted migration, then rehearse again.";

fn enterprise(rows: &[Row], schema: &Catalog) -> Option<Problem> {
    let mut seen = vec![];
    for r in rows {
        if r.subsystem.starts_with("enterprise") || EE_SUBSYSTEMS.contains(&r.subsystem.as_str()) {
            seen.push(format!("subsystem `{}`", r.subsystem));
        }
        if r.subsystem == "core" {
            for m in r.executed.iter().chain(&r.pending).flatten() {
                if EE_CORE_NAMES.contains(&m.as_str()) {
                    seen.push(format!("core migration `{m}`"));
                }
            }
        }
    }
    for t in EE_TABLES {
        if schema.has_table(t) {
            seen.push(format!("table `{t}`"));
        }
    }
    if seen.is_empty() {
        return None;
    }
    Some(
        Problem::new(
            Kind::Enterprise,
            format!(
                "this is a Kong Enterprise database ({}); Enterprise migrations are not in the \
                 open-source catalog, and running the OSS sequence on it would fill \"gaps\" with \
                 the wrong migrations",
                seen.join(", ")
            ),
        )
        .fix("Rehearse it with the real Kong Enterprise binary (the real-Kong runner), never with the built-in open-source catalog."),
    )
}

/// Kong's `State.load` classification of one subsystem against a code list.
pub fn kong_state(name: &str, row: Option<&Row>, code: &[String]) -> SubsystemState {
    let executed = row.and_then(|r| r.executed.clone()).unwrap_or_default();
    let pending = row.and_then(|r| r.pending.clone()).unwrap_or_default();
    let mut st = SubsystemState {
        subsystem: name.to_string(),
        known: !code.is_empty(),
        executed: executed.clone(),
        pending: pending.clone(),
        new: vec![],
        missing: vec![],
        history: vec![],
        verdict: "ok".into(),
    };
    let Some(row) = row else {
        st.new = code.to_vec();
        return st;
    };
    let mut cut: Option<usize> = None;
    for (i, m) in code.iter().enumerate() {
        if row.last_executed.as_deref() == Some(m.as_str()) {
            cut = Some(i + 1);
        }
        if executed.contains(m) || pending.contains(m) {
            continue;
        }
        if cut.is_none_or(|c| i >= c) {
            st.new.push(m.clone());
        } else {
            st.missing.push(m.clone());
        }
    }
    st
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "nothing".into();
    }
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::catalog::{Column, Table};

    fn lts() -> LtsCatalog {
        LtsCatalog::load().expect("embedded LTS catalog")
    }

    /// The schema a complete 2.8.5 database has, as far as the catalog's effects describe it.
    fn schema_285(cat: &LtsCatalog) -> Catalog {
        let mut c = Catalog {
            schema: "public".into(),
            ..Default::default()
        };
        for sub in &cat.subsystems {
            for e in sub.effects_2_8.iter().flat_map(|e| &e.present) {
                apply(&mut c, e);
            }
        }
        c.tables.insert("schema_meta".into(), Table::default());
        c
    }

    fn apply(c: &mut Catalog, e: &super::super::lts::Effect) {
        let t = e.table.clone().unwrap_or_default();
        match e.op.as_str() {
            "create_table" => {
                let tab = c.tables.entry(t).or_default();
                for col in e.columns.iter().flatten() {
                    tab.columns.push(Column {
                        name: col.clone(),
                        ..Default::default()
                    });
                }
            }
            "add_column" => c.tables.entry(t).or_default().columns.push(Column {
                name: e.column.clone().unwrap_or_default(),
                ..Default::default()
            }),
            "create_trigger" => {
                c.tables
                    .entry(t)
                    .or_default()
                    .triggers
                    .insert(e.name.clone().unwrap_or_default(), String::new());
            }
            "create_index" => {
                c.tables
                    .entry(t)
                    .or_default()
                    .indexes
                    .insert(e.name.clone().unwrap_or_default(), String::new());
            }
            "add_constraint" => {
                c.tables
                    .entry(t)
                    .or_default()
                    .constraints
                    .insert(e.name.clone().unwrap_or_default(), String::new());
            }
            "create_function" => {
                c.functions.insert(
                    format!("{}()", e.name.clone().unwrap_or_default()),
                    String::new(),
                );
            }
            "drop_table" => {
                c.tables.remove(&t);
            }
            _ => {}
        }
    }

    fn rows_285(cat: &LtsCatalog) -> Vec<Row> {
        cat.subsystems
            .iter()
            .filter(|s| !s.executed_2_8.is_empty())
            .map(|s| Row {
                subsystem: s.name.clone(),
                last_executed: s.executed_2_8.last().cloned(),
                executed: Some(s.executed_2_8.clone()),
                pending: Some(vec![]),
            })
            .collect()
    }

    fn row<'a>(rows: &'a mut [Row], name: &str) -> &'a mut Row {
        rows.iter_mut().find(|r| r.subsystem == name).unwrap()
    }

    fn apply_up(cat: &LtsCatalog, schema: &mut Catalog, sub: &str, m: &str) {
        let step = cat.subsystem(sub).unwrap().step(m).unwrap().clone();
        for e in &step.effects.up {
            if !e.is_conditional() {
                apply(schema, e);
            }
        }
    }

    struct Case {
        name: &'static str,
        edit: fn(&LtsCatalog, &mut Vec<Row>, &mut Catalog),
        /// (kind, subsystem, migration) expected among the problems; None = eligible.
        expect: Option<(Kind, &'static str, Option<&'static str>)>,
        allow: &'static [&'static str],
    }

    #[test]
    fn judge_table() {
        let cat = lts();
        let cases = [
            Case {
                name: "complete 2.8.5",
                edit: |_, _, _| {},
                expect: None,
                allow: &[],
            },
            Case {
                name: "two core entries swapped: order is never a problem",
                edit: |_, r, _| row(r, "core").executed.as_mut().unwrap().swap(3, 4),
                expect: None,
                allow: &[],
            },
            Case {
                name: "teardowns appended by finish (a database upgraded across them)",
                edit: |_, r, _| {
                    let core = row(r, "core");
                    let ex = core.executed.as_mut().unwrap();
                    for m in ["008_150_to_200", "009_200_to_210", "012_213_to_220"] {
                        ex.retain(|x| x != m);
                        ex.push(m.into());
                    }
                    core.last_executed = Some("012_213_to_220".into());
                },
                expect: None,
                allow: &[],
            },
            Case {
                name: "last_executed names a migration Kong classifies as missing",
                edit: |_, r, _| {
                    let core = row(r, "core");
                    core.executed
                        .as_mut()
                        .unwrap()
                        .retain(|m| m != "015_270_to_280");
                    core.last_executed = Some("015_270_to_280".into());
                },
                expect: Some((Kind::OutOfOrder, "core", Some("015_270_to_280"))),
                allow: &[],
            },
            Case {
                name: "last_executed names a migration no Kong lists",
                edit: |_, r, _| row(r, "core").last_executed = Some("999_edited".into()),
                expect: Some((Kind::OutOfOrder, "core", Some("999_edited"))),
                allow: &[],
            },
            Case {
                name: "3.x recorded while a 2.8 migration is absent",
                edit: |c, r, s| {
                    let core = row(r, "core");
                    let ex = core.executed.as_mut().unwrap();
                    ex.retain(|m| m != "015_270_to_280");
                    ex.push("016_280_to_300".into());
                    core.last_executed = Some("016_280_to_300".into());
                    apply_up(c, s, "core", "016_280_to_300");
                },
                expect: Some((Kind::OutOfOrder, "core", Some("015_270_to_280"))),
                allow: &[],
            },
            Case {
                name: "a history name nobody shipped is unknown",
                edit: |_, r, _| {
                    row(r, "acl")
                        .executed
                        .as_mut()
                        .unwrap()
                        .insert(1, "001_13_to_14".into())
                },
                expect: Some((Kind::UnknownMigration, "acl", Some("001_13_to_14"))),
                allow: &[],
            },
            Case {
                name: "a middle entry deleted",
                edit: |_, r, _| {
                    row(r, "core")
                        .executed
                        .as_mut()
                        .unwrap()
                        .retain(|m| m != "009_200_to_210");
                },
                expect: Some((Kind::OutOfOrder, "core", Some("009_200_to_210"))),
                allow: &[],
            },
            Case {
                name: "3.0 migration pending",
                edit: |c, r, s| {
                    row(r, "core").pending = Some(vec!["016_280_to_300".into()]);
                    apply_up(c, s, "core", "016_280_to_300");
                },
                expect: Some((Kind::Partial, "core", Some("016_280_to_300"))),
                allow: &[],
            },
            Case {
                name: "016 recorded without its columns",
                edit: |_, r, _| {
                    let core = row(r, "core");
                    core.executed
                        .as_mut()
                        .unwrap()
                        .push("016_280_to_300".into());
                    core.last_executed = Some("016_280_to_300".into());
                },
                expect: Some((Kind::Partial, "core", Some("016_280_to_300"))),
                allow: &[],
            },
            Case {
                name: "016 columns without the record",
                edit: |c, _, s| apply_up(c, s, "core", "016_280_to_300"),
                expect: Some((Kind::Partial, "core", Some("016_280_to_300"))),
                allow: &[],
            },
            Case {
                name: "a 2.6-era database",
                edit: |_, r, s| {
                    let core = row(r, "core");
                    core.executed
                        .as_mut()
                        .unwrap()
                        .retain(|m| m != "015_270_to_280");
                    core.last_executed = Some("014_230_to_270".into());
                    s.tables.remove("vaults_beta");
                },
                expect: Some((Kind::NotLtsSource, "core", Some("015_270_to_280"))),
                allow: &[],
            },
            Case {
                name: "custom plugin",
                edit: |_, r, _| {
                    r.push(Row {
                        subsystem: "my-plugin".into(),
                        last_executed: Some("000_base_my_plugin".into()),
                        executed: Some(vec!["000_base_my_plugin".into()]),
                        pending: None,
                    })
                },
                expect: Some((Kind::UnknownMigration, "my-plugin", None)),
                allow: &[],
            },
            Case {
                name: "custom plugin allowed",
                edit: |_, r, _| {
                    r.push(Row {
                        subsystem: "my-plugin".into(),
                        last_executed: None,
                        executed: Some(vec!["000_base_my_plugin".into()]),
                        pending: None,
                    })
                },
                expect: None,
                allow: &["my-plugin"],
            },
            Case {
                name: "enterprise core names",
                edit: |_, r, _| {
                    let ex = row(r, "core").executed.as_mut().unwrap();
                    ex.retain(|m| m != "014_230_to_270" && m != "015_270_to_280");
                    ex.extend([
                        "014_230_to_260".into(),
                        "015_260_to_270".into(),
                        "016_270_to_280".into(),
                    ]);
                },
                expect: Some((Kind::Enterprise, "", None)),
                allow: &[],
            },
            Case {
                name: "core row missing",
                edit: |_, r, _| r.retain(|x| x.subsystem != "core"),
                expect: Some((Kind::Partial, "core", None)),
                allow: &[],
            },
            Case {
                name: "a 2.8 migration left pending",
                edit: |_, r, _| {
                    let acl = row(r, "acl");
                    acl.executed.as_mut().unwrap().pop();
                    acl.pending = Some(vec!["004_212_to_213".into()]);
                },
                expect: Some((Kind::Partial, "acl", Some("004_212_to_213"))),
                allow: &[],
            },
            Case {
                name: "plugin row missing but its tables exist",
                edit: |_, r, _| r.retain(|x| x.subsystem != "session"),
                expect: Some((Kind::Partial, "session", None)),
                allow: &[],
            },
            Case {
                name: "fully upgraded to 3.4",
                edit: |c, r, s| {
                    for sub in &c.subsystems {
                        for step in &sub.sequence {
                            apply_up(c, s, &sub.name, &step.name);
                            for e in &step.effects.teardown {
                                apply(s, e);
                            }
                        }
                        if sub.sequence.is_empty() {
                            continue;
                        }
                        if !r.iter().any(|x| x.subsystem == sub.name) {
                            r.push(Row {
                                subsystem: sub.name.clone(),
                                last_executed: None,
                                executed: Some(vec![]),
                                pending: Some(vec![]),
                            });
                        }
                        let x = row(r, &sub.name);
                        x.executed
                            .as_mut()
                            .unwrap()
                            .extend(sub.sequence.iter().map(|s| s.name.clone()));
                    }
                },
                expect: Some((Kind::NotLtsSource, "core", Some("016_280_to_300"))),
                allow: &[],
            },
        ];
        for c in cases {
            let mut rows = rows_285(&cat);
            let mut schema = schema_285(&cat);
            (c.edit)(&cat, &mut rows, &mut schema);
            let v = judge(
                &Observed {
                    schema_meta: Some(&rows),
                    catalog: &schema,
                    plugins_in_use: None,
                },
                &cat,
                &Options {
                    allow_unknown: c.allow.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                },
            )
            .unwrap();
            match c.expect {
                None => assert!(v.eligible, "{}: {:#?}", c.name, v.problems),
                Some((kind, sub, mig)) => {
                    assert!(!v.eligible, "{}: judged eligible", c.name);
                    let hit = v.problems.iter().any(|p| {
                        p.kind == kind
                            && (sub.is_empty() || p.subsystem.as_deref() == Some(sub))
                            && (mig.is_none() || p.migration.as_deref() == mig)
                    });
                    assert!(
                        hit,
                        "{}: wanted {kind:?} {sub} {mig:?}, got {:#?}",
                        c.name, v.problems
                    );
                    assert_eq!(
                        v.problems[0].kind, kind,
                        "{}: first problem {:#?}",
                        c.name, v.problems
                    );
                }
            }
        }
    }

    #[test]
    fn no_schema_meta_is_not_kong() {
        let cat = lts();
        let v = judge(
            &Observed {
                schema_meta: None,
                catalog: &Catalog::default(),
                plugins_in_use: None,
            },
            &cat,
            &Options::default(),
        )
        .unwrap();
        assert!(!v.eligible);
        assert_eq!(v.problems.len(), 1);
        assert_eq!(v.problems[0].kind, Kind::NotKong);
    }

    /// Databases born on 1.0.3, 1.5.1, 2.0.5 and 2.5.1 and upgraded to 2.8.5 by Kong itself
    /// (rows replayed in schemas/kong-history): eligible, with 1.x's teardown names as history.
    #[test]
    fn kong_histories_are_eligible() {
        let cat = lts();
        let schema = schema_285(&cat);
        for (tag, history) in [("1.0.3", 13), ("1.5.1", 13), ("2.0.5", 0), ("2.5.1", 0)] {
            let rows = crate::kong::history::expected_schema_meta_after_285(tag).unwrap();
            let v = judge(
                &Observed {
                    schema_meta: Some(&rows),
                    catalog: &schema,
                    plugins_in_use: None,
                },
                &cat,
                &Options::default(),
            )
            .unwrap();
            assert!(v.eligible, "born on {tag}: {:#?}", v.problems);
            let names: usize = v.subsystems.iter().map(|s| s.history.len()).sum();
            assert_eq!(names, history, "born on {tag}: {:#?}", v.subsystems);
            assert!(v.subsystems.iter().all(|s| s.missing.is_empty()), "{tag}");
        }
    }

    #[test]
    fn a_restricted_plugin_list_judges_what_kong_loads() {
        let mut cat = lts();
        let plugins = Plugins::parse("key-auth, acl", "KONG_PLUGINS");
        cat.restrict(&plugins);
        let schema = schema_285(&lts());
        let rows = rows_285(&lts());
        let in_use = vec![("key-auth".to_string(), 3), ("oauth2".to_string(), 1)];
        let v = judge(
            &Observed {
                schema_meta: Some(&rows),
                catalog: &schema,
                plugins_in_use: Some(&in_use),
            },
            &cat,
            &Options {
                plugins,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(v.problems.len(), 1, "{:#?}", v.problems);
        assert_eq!(v.problems[0].kind, Kind::PluginNotLoaded);
        assert!(v.problems[0].message.contains("oauth2"));
        let oauth2 = v
            .subsystems
            .iter()
            .find(|s| s.subsystem == "oauth2")
            .unwrap();
        assert_eq!(oauth2.verdict, "not_loaded");
        assert!(oauth2.new.is_empty());
        let key_auth = v
            .subsystems
            .iter()
            .find(|s| s.subsystem == "key-auth")
            .unwrap();
        assert_eq!(key_auth.new, ["004_320_to_330"]);
    }

    #[test]
    fn kong_classification_matches_state_load() {
        let code: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        // A gap before last_executed is "new" to Kong, and only last_executed can be missing.
        let r = Row {
            subsystem: "x".into(),
            last_executed: Some("c".into()),
            executed: Some(vec!["a".into()]),
            pending: None,
        };
        let st = kong_state("x", Some(&r), &code);
        assert_eq!(st.new, ["b", "d"]);
        assert_eq!(st.missing, ["c"]);
        assert_eq!(kong_state("x", None, &code).new, code);
    }
}
