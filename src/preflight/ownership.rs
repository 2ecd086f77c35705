//! Who owns the tables Kong's migrations alter. `ALTER TABLE`, `CREATE INDEX`, `CREATE
//! TRIGGER` and `DROP TABLE` need the table's owner (or a member of it, or a superuser), and
//! Kong runs every migration as its one `pg_user`. A database whose Kong tables are owned by
//! more than one role (a DBA re-created one as `postgres`, a restore ran without `--no-owner`
//! as another user) makes the real `kong migrations up` stop with "must be owner of table".
//! The rehearsal restores with `--no-owner`, so it would never see that: the owners are read
//! from the dump itself (its table of contents, or a plain dump's `ALTER TABLE … OWNER TO`).

use std::collections::{BTreeMap, BTreeSet};

use crate::kong::lts::LtsCatalog;
use crate::report::{Kind, Problem};

/// Table → owner, for the tables of `schema` in a `pg_restore --list` listing
/// (`ID; oid oid TABLE schema name owner`).
pub fn from_archive_list(list: &str, schema: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in list.lines().filter(|l| !l.starts_with(';')) {
        let w: Vec<&str> = line.split_whitespace().collect();
        // `TABLE DATA …` is the table's rows, not the table.
        if w.len() == 7 && w[3] == "TABLE" && w[4] == schema {
            out.insert(w[5].to_string(), w[6].to_string());
        }
    }
    out
}

/// The existing tables the migrations about to run need to own: every table one of their
/// steps alters, indexes, triggers or drops, and that the sequence does not create itself.
pub fn tables_altered(cat: &LtsCatalog) -> BTreeSet<String> {
    let effects = || {
        cat.subsystems
            .iter()
            .flat_map(|s| &s.sequence)
            .flat_map(|st| st.effects.up.iter().chain(&st.effects.teardown))
    };
    let created: BTreeSet<&str> = effects()
        .filter(|e| e.op == "create_table")
        .filter_map(|e| e.table.as_deref())
        .collect();
    effects()
        .filter(|e| {
            matches!(
                e.op.as_str(),
                "add_column" | "add_constraint" | "create_index" | "create_trigger" | "drop_table"
            )
        })
        .filter_map(|e| e.table.as_deref())
        .filter(|t| !created.contains(t))
        .map(str::to_string)
        .collect()
}

/// Hazards (the real `up` fails) and warnings (it fails unless a role membership the dump
/// cannot show) from the owners of the tables the migrations alter. `kong_user` is `pg_user`
/// of the production kong.conf / KONG_PG_USER, when known.
pub fn judge(
    owners: &BTreeMap<String, String>,
    altered: &BTreeSet<String>,
    kong_user: Option<&str>,
) -> (Vec<Problem>, Vec<String>) {
    let mut by_owner: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in altered {
        if let Some(o) = owners.get(t) {
            by_owner.entry(o.as_str()).or_default().push(t.as_str());
        }
    }
    let mut problems = vec![];
    let mut warnings = vec![];
    let list = |ts: &[&str]| {
        let mut s = ts.iter().take(8).copied().collect::<Vec<_>>().join(", ");
        if ts.len() > 8 {
            s.push_str(&format!(" and {} more", ts.len() - 8));
        }
        s
    };
    if by_owner.len() > 1 {
        // The owner of most of them is taken to be Kong's; the others are the odd ones out.
        let main = kong_user
            .filter(|u| by_owner.contains_key(u))
            .or_else(|| {
                by_owner
                    .iter()
                    .max_by_key(|(_, ts)| ts.len())
                    .map(|(o, _)| *o)
            })
            .unwrap_or_default();
        for (owner, tables) in by_owner.iter().filter(|(o, _)| **o != main) {
            problems.push(
                Problem::new(
                    Kind::Hazard,
                    format!(
                        "table(s) {} are owned by role {owner}, the other tables the 2.8 → 3.4 \
                         migrations alter by {main}: Kong runs every migration as one role, and \
                         ALTER TABLE, CREATE INDEX and CREATE TRIGGER need the owner, so the \
                         real `kong migrations up` stops with \"must be owner of table\" unless \
                         that role is a superuser or a member of both",
                        list(tables)
                    ),
                )
                .object(format!("table {}", tables[0]))
                .fix(format!(
                    "Give them to Kong's role before upgrading: `ALTER TABLE {} OWNER TO {main};` \
                     for each (as a superuser or their owner); the rehearsal restores without \
                     owners, so it cannot show this failure itself.",
                    tables[0]
                )),
            );
        }
    } else if let (Some(user), Some((owner, tables))) = (kong_user, by_owner.iter().next()) {
        if *owner != user {
            warnings.push(format!(
                "the tables the migrations alter ({}) are owned by role {owner}, and Kong \
                 connects as {user} (pg_user): `kong migrations up` stops with \"must be owner \
                 of table\" unless {user} is a superuser or a member of {owner} (`GRANT {owner} \
                 TO {user}`), or the tables are given to it (`ALTER TABLE … OWNER TO {user}`)",
                list(tables)
            ));
        }
    }
    (problems, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = ";\n; Archive created at 2026-12-02\n;\n\
        215; 1259 16390 TABLE public routes kong\n\
        216; 1259 16400 TABLE public plugins postgres\n\
        217; 1259 16410 TABLE kong_gw services kong\n\
        3400; 0 16390 TABLE DATA public routes kong\n\
        3401; 0 0 ACL public TABLE routes kong\n";

    fn set(ts: &[&str]) -> BTreeSet<String> {
        ts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn owners_are_read_for_the_kong_schema_only() {
        let o = from_archive_list(LIST, "public");
        assert_eq!(o.len(), 2, "{o:?}");
        assert_eq!(o["routes"], "kong");
        assert_eq!(o["plugins"], "postgres");
        assert_eq!(from_archive_list(LIST, "kong_gw")["services"], "kong");
    }

    #[test]
    fn the_tables_altered_exclude_the_ones_the_sequence_creates() {
        let cat = LtsCatalog::load().unwrap();
        let t = tables_altered(&cat);
        for want in ["routes", "plugins", "targets", "ttls", "upstreams"] {
            assert!(t.contains(want), "{want}: {t:?}");
        }
        for created in ["keys", "key_sets", "filter_chains", "sm_vaults"] {
            assert!(!t.contains(created), "{created}: {t:?}");
        }
    }

    #[test]
    fn owners_are_judged() {
        let own = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(t, o)| (t.to_string(), o.to_string()))
                .collect()
        };
        let altered = set(&["routes", "plugins", "targets"]);
        // (owners, kong_user) → (hazards, warnings, the odd table named)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
            usize,
            usize,
            &'a str,
        );
        let cases: &[Case] = &[
            (
                &[("routes", "kong"), ("plugins", "kong"), ("targets", "kong")],
                None,
                0,
                0,
                "",
            ),
            (
                &[("routes", "kong"), ("plugins", "kong"), ("targets", "kong")],
                Some("kong"),
                0,
                0,
                "",
            ),
            (
                &[
                    ("routes", "kong"),
                    ("plugins", "postgres"),
                    ("targets", "kong"),
                ],
                None,
                1,
                0,
                "plugins",
            ),
            (
                &[
                    ("routes", "kong"),
                    ("plugins", "postgres"),
                    ("targets", "postgres"),
                ],
                Some("kong"),
                1,
                0,
                "plugins",
            ),
            (
                &[
                    ("routes", "admin"),
                    ("plugins", "admin"),
                    ("targets", "admin"),
                ],
                Some("kong"),
                0,
                1,
                "",
            ),
            // A table no migration alters may belong to anyone.
            (
                &[
                    ("routes", "kong"),
                    ("plugins", "kong"),
                    ("targets", "kong"),
                    ("reports", "dba"),
                ],
                None,
                0,
                0,
                "",
            ),
            // Unknown owners (a plain dump taken with --no-owner): nothing to judge.
            (&[], Some("kong"), 0, 0, ""),
        ];
        for (i, (owners, user, hazards, warnings, odd)) in cases.iter().enumerate() {
            let (p, w) = judge(&own(owners), &altered, *user);
            assert_eq!(p.len(), *hazards, "case {i}: {p:?}");
            assert_eq!(w.len(), *warnings, "case {i}: {w:?}");
            if !odd.is_empty() {
                assert!(p[0].message.contains(odd), "case {i}: {}", p[0].message);
                assert_eq!(p[0].kind, Kind::Hazard);
            }
        }
    }
}
