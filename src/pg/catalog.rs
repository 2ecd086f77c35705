//! The schema of one PostgreSQL schema (namespace), read from pg_catalog: one query per
//! object kind, normalized into sorted, comparable values. Knows nothing about Kong.
//!
//! Callers read it inside their own transaction, so a catalog and whatever else they read
//! (schema_meta, counts) come from one snapshot.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `format_type` spelling, e.g. `timestamp with time zone`, `text[]`.
    pub data_type: String,
    pub default: Option<String>,
    pub not_null: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// In physical (attnum) order, dropped columns left out.
    pub columns: Vec<Column>,
    /// name → `pg_get_constraintdef`
    pub constraints: BTreeMap<String, String>,
    /// name → `pg_get_indexdef` (schema-qualified names stripped)
    pub indexes: BTreeMap<String, String>,
    /// name → `pg_get_triggerdef`
    pub triggers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub schema: String,
    pub tables: BTreeMap<String, Table>,
    /// `name(args)` → md5 of `pg_get_functiondef`
    pub functions: BTreeMap<String, String>,
    pub sequences: BTreeSet<String>,
    pub views: BTreeSet<String>,
    /// Extensions installed in the database (any schema), by name.
    pub extensions: BTreeSet<String>,
    /// `OBJECT to GRANTEE` → what differs from PostgreSQL's default privileges, e.g.
    /// `TABLE consumers to reader` → `+SELECT`, `FUNCTION f() to PUBLIC` → `-EXECUTE`
    /// (`sql::catalog::Q_GRANTS`). Left out of the JSON form when empty, so a catalog
    /// without grants serializes (and hashes) as it did before grants were read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, String>,
}

impl Catalog {
    pub fn has_table(&self, t: &str) -> bool {
        self.tables.contains_key(t)
    }
    pub fn has_column(&self, t: &str, c: &str) -> bool {
        self.tables
            .get(t)
            .is_some_and(|t| t.columns.iter().any(|x| x.name == c))
    }
    pub fn column(&self, t: &str, c: &str) -> Option<&Column> {
        self.tables.get(t)?.columns.iter().find(|x| x.name == c)
    }
    pub fn has_index(&self, name: &str) -> bool {
        self.tables.values().any(|t| t.indexes.contains_key(name))
    }
    pub fn has_trigger(&self, name: &str) -> bool {
        self.tables.values().any(|t| t.triggers.contains_key(name))
    }
    pub fn has_constraint(&self, name: &str) -> bool {
        self.tables
            .values()
            .any(|t| t.constraints.contains_key(name))
    }
    pub fn has_function(&self, name: &str) -> bool {
        self.functions
            .keys()
            .any(|k| k.split('(').next() == Some(name))
    }
}

/// The table (or view, or sequence) a grant key of [`Catalog::grants`] is on, and the column
/// for a column grant: `TABLE consumers to reader` → (`consumers`, None).
pub fn grant_target(key: &str) -> Option<(&str, Option<&str>)> {
    let (object, _grantee) = key.split_once(" to ")?;
    let (kind, name) = object.split_once(' ')?;
    match kind {
        "TABLE" | "VIEW" | "SEQUENCE" => Some((name, None)),
        "COLUMN" => name.split_once('.').map(|(t, c)| (t, Some(c))),
        _ => None,
    }
}

use super::sql::catalog::*;

/// Reads the catalog of `schema`. Extension-owned tables, functions and sequences are
/// excluded.
pub async fn read(client: &impl GenericClient, schema: &str) -> Result<Catalog> {
    let err = |what: &'static str| {
        move |e| Error::db(format!("cannot read the {what} of schema {schema}"), e)
    };
    let mut cat = Catalog {
        schema: schema.to_string(),
        ..Default::default()
    };
    for r in client
        .query(&q_tables(), &[&schema])
        .await
        .map_err(err("tables"))?
    {
        cat.tables.insert(r.get(0), Table::default());
    }
    for r in client
        .query(Q_COLUMNS, &[&schema])
        .await
        .map_err(err("columns"))?
    {
        if let Some(t) = cat.tables.get_mut(&r.get::<_, String>(0)) {
            t.columns.push(Column {
                name: r.get(1),
                data_type: r.get(2),
                default: r.get(3),
                not_null: r.get(4),
            });
        }
    }
    let prefix = format!("{}.", quote_if_needed(schema));
    for (q, which) in [(Q_CONSTRAINTS, 0), (Q_INDEXES, 1), (Q_TRIGGERS, 2)] {
        for r in client
            .query(q, &[&schema])
            .await
            .map_err(err("constraints, indexes and triggers"))?
        {
            let Some(t) = cat.tables.get_mut(&r.get::<_, String>(0)) else {
                continue;
            };
            // Definitions name the schema; strip it so the same schema compares equal
            // wherever it lives.
            let def = r.get::<_, String>(2).replace(&prefix, "");
            let map = match which {
                0 => &mut t.constraints,
                1 => &mut t.indexes,
                _ => &mut t.triggers,
            };
            map.insert(r.get(1), def);
        }
    }
    for r in client
        .query(Q_FUNCTIONS, &[&schema])
        .await
        .map_err(err("functions"))?
    {
        cat.functions.insert(r.get(0), r.get(1));
    }
    for r in client
        .query(&q_relkind('S'), &[&schema])
        .await
        .map_err(err("sequences"))?
    {
        cat.sequences.insert(r.get(0));
    }
    for r in client
        .query(&q_relkind('v'), &[&schema])
        .await
        .map_err(err("views"))?
    {
        cat.views.insert(r.get(0));
    }
    for r in client
        .query(Q_EXTENSIONS, &[])
        .await
        .map_err(err("extensions"))?
    {
        cat.extensions.insert(r.get(0));
    }
    for r in client
        .query(Q_GRANTS, &[&schema])
        .await
        .map_err(err("grants"))?
    {
        cat.grants.insert(r.get(0), r.get(2));
    }
    Ok(cat)
}

fn quote_if_needed(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// One difference between two catalogs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `added`, `removed` or `changed` (from the first catalog to the second).
    pub change: &'static str,
    /// `table`, `column`, `constraint`, `index`, `trigger`, `function`, `sequence`, `view`,
    /// `extension`, `grant`, `column order`.
    pub object: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl Change {
    pub fn describe(&self) -> String {
        let what = match &self.table {
            Some(t) if !matches!(self.object, "table" | "grant") => {
                format!("{} {t}.{}", self.object, self.name)
            }
            _ => format!("{} {}", self.object, self.name),
        };
        match (self.change, &self.before, &self.after) {
            ("changed", Some(b), Some(a)) => format!("{what} changed: {b} → {a}"),
            (c, _, _) => format!("{what} {c}"),
        }
    }
}

fn column_def(c: &Column) -> String {
    let mut s = c.data_type.clone();
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    s
}

fn diff_maps(
    out: &mut Vec<Change>,
    object: &'static str,
    table: Option<&str>,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) {
    let mk = |change, name: &str, before: Option<&String>, after: Option<&String>| Change {
        change,
        object,
        table: table.map(str::to_string),
        name: name.to_string(),
        before: before.cloned(),
        after: after.cloned(),
    };
    for (k, v) in a {
        match b.get(k) {
            None => out.push(mk("removed", k, Some(v), None)),
            Some(w) if w != v => out.push(mk("changed", k, Some(v), Some(w))),
            _ => {}
        }
    }
    for (k, v) in b {
        if !a.contains_key(k) {
            out.push(mk("added", k, None, Some(v)));
        }
    }
}

fn set_map(s: &BTreeSet<String>) -> BTreeMap<String, String> {
    s.iter().map(|k| (k.clone(), String::new())).collect()
}

/// Typed differences from `a` to `b`, tables first, in a stable order.
pub fn diff(a: &Catalog, b: &Catalog) -> Vec<Change> {
    let mut out = vec![];
    let empty = Table::default();
    let names: BTreeSet<&String> = a.tables.keys().chain(b.tables.keys()).collect();
    for t in names {
        let (ta, tb) = (a.tables.get(t), b.tables.get(t));
        match (ta, tb) {
            (Some(_), None) => out.push(Change {
                change: "removed",
                object: "table",
                table: Some(t.clone()),
                name: t.clone(),
                before: None,
                after: None,
            }),
            (None, Some(_)) => out.push(Change {
                change: "added",
                object: "table",
                table: Some(t.clone()),
                name: t.clone(),
                before: None,
                after: None,
            }),
            _ => {}
        }
        let ta = ta.unwrap_or(&empty);
        let tb = tb.unwrap_or(&empty);
        let cols = |x: &Table| -> BTreeMap<String, String> {
            x.columns
                .iter()
                .map(|c| (c.name.clone(), column_def(c)))
                .collect()
        };
        if ta.columns.is_empty() || tb.columns.is_empty() {
            // A whole table added or removed: its parts are not listed one by one.
            continue;
        }
        diff_maps(&mut out, "column", Some(t), &cols(ta), &cols(tb));
        let order = |x: &Table, other: &Table| -> Vec<String> {
            x.columns
                .iter()
                .filter(|c| other.columns.iter().any(|o| o.name == c.name))
                .map(|c| c.name.clone())
                .collect()
        };
        let (oa, ob) = (order(ta, tb), order(tb, ta));
        if oa != ob {
            out.push(Change {
                change: "changed",
                object: "column order",
                table: Some(t.clone()),
                name: t.clone(),
                before: Some(oa.join(", ")),
                after: Some(ob.join(", ")),
            });
        }
        diff_maps(
            &mut out,
            "constraint",
            Some(t),
            &ta.constraints,
            &tb.constraints,
        );
        diff_maps(&mut out, "index", Some(t), &ta.indexes, &tb.indexes);
        diff_maps(&mut out, "trigger", Some(t), &ta.triggers, &tb.triggers);
    }
    diff_maps(&mut out, "function", None, &a.functions, &b.functions);
    diff_maps(
        &mut out,
        "sequence",
        None,
        &set_map(&a.sequences),
        &set_map(&b.sequences),
    );
    diff_maps(
        &mut out,
        "view",
        None,
        &set_map(&a.views),
        &set_map(&b.views),
    );
    diff_maps(
        &mut out,
        "extension",
        None,
        &set_map(&a.extensions),
        &set_map(&b.extensions),
    );
    // A grant on a table the other side lacks is named with its table, so "is a migration
    // acting on it" can be asked of the table.
    let start = out.len();
    diff_maps(&mut out, "grant", None, &a.grants, &b.grants);
    for ch in &mut out[start..] {
        ch.table = grant_target(&ch.name).map(|(t, _)| t.to_string());
    }
    out
}

/// A canonical text form, one object per line, for reading and for unified diffs.
pub fn render(c: &Catalog) -> String {
    let mut s = String::new();
    for (name, t) in &c.tables {
        s.push_str(&format!("TABLE {name}\n"));
        for (i, col) in t.columns.iter().enumerate() {
            s.push_str(&format!(
                "  {:>2} {} {}\n",
                i + 1,
                col.name,
                column_def(col)
            ));
        }
        for (k, v) in &t.constraints {
            s.push_str(&format!("  CONSTRAINT {k} {v}\n"));
        }
        for (k, v) in &t.indexes {
            s.push_str(&format!("  INDEX {k}: {v}\n"));
        }
        for (k, v) in &t.triggers {
            s.push_str(&format!("  TRIGGER {k}: {v}\n"));
        }
    }
    for (k, v) in &c.functions {
        s.push_str(&format!("FUNCTION {k} md5={v}\n"));
    }
    for k in &c.sequences {
        s.push_str(&format!("SEQUENCE {k}\n"));
    }
    for k in &c.views {
        s.push_str(&format!("VIEW {k}\n"));
    }
    for k in &c.extensions {
        s.push_str(&format!("EXTENSION {k}\n"));
    }
    for (k, v) in &c.grants {
        s.push_str(&format!("GRANT {k}: {v}\n"));
    }
    s
}

/// A readable unified diff of the two catalogs' text forms (`similar`).
pub fn unified_diff(a: &Catalog, b: &Catalog, a_name: &str, b_name: &str) -> String {
    let (ra, rb) = (render(a), render(b));
    similar::TextDiff::from_lines(&ra, &rb)
        .unified_diff()
        .context_radius(2)
        .header(a_name, b_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalog {
        let mut c = Catalog::default();
        let mut t = Table::default();
        for n in ["id", "name"] {
            t.columns.push(Column {
                name: n.into(),
                data_type: "text".into(),
                default: None,
                not_null: false,
            });
        }
        t.indexes.insert(
            "t_name_idx".into(),
            "CREATE INDEX t_name_idx ON t (name)".into(),
        );
        c.tables.insert("t".into(), t);
        c
    }

    #[test]
    fn diff_names_each_kind_of_change() {
        let a = cat();
        let mut b = cat();
        let t = b.tables.get_mut("t").unwrap();
        t.columns[1].not_null = true;
        t.columns.push(Column {
            name: "extra".into(),
            data_type: "int".into(),
            default: None,
            not_null: false,
        });
        t.indexes.clear();
        b.tables.insert("u".into(), Table::default());
        let d = diff(&a, &b);
        let got: Vec<String> = d.iter().map(Change::describe).collect();
        assert!(
            got.contains(&"column t.name changed: text → text NOT NULL".to_string()),
            "{got:?}"
        );
        assert!(got.contains(&"column t.extra added".to_string()), "{got:?}");
        assert!(
            got.contains(&"index t.t_name_idx removed".to_string()),
            "{got:?}"
        );
        assert!(got.contains(&"table u added".to_string()), "{got:?}");
        assert!(diff(&a, &a).is_empty());
        let u = unified_diff(&a, &b, "before", "after");
        assert!(u.contains("+   3 extra int"), "{u}");
    }

    #[test]
    fn grants_are_compared_and_named_with_their_table() {
        let a = cat();
        let mut b = cat();
        b.grants
            .insert("TABLE t to reader".into(), "+SELECT".into());
        b.grants
            .insert("COLUMN t.name to \"Odd Role\"".into(), "+UPDATE".into());
        let mut d = diff(&a, &b);
        d.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d
            .iter()
            .all(|c| c.object == "grant" && c.table.as_deref() == Some("t")));
        assert_eq!(d[1].describe(), "grant TABLE t to reader added");
        assert_eq!(
            grant_target("COLUMN t.name to \"Odd Role\""),
            Some(("t", Some("name")))
        );
        assert_eq!(grant_target("SCHEMA to PUBLIC"), None);
        assert!(render(&b).contains("GRANT TABLE t to reader: +SELECT"));
        // Serialized without grants, a catalog hashes as it did before grants were read.
        let j = serde_json::to_string(&a).unwrap();
        assert!(!j.contains("grants"), "{j}");
    }

    #[test]
    fn column_order_is_a_change() {
        let a = cat();
        let mut b = cat();
        b.tables.get_mut("t").unwrap().columns.reverse();
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].object, "column order");
    }
}
