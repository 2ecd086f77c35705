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

// Objects that belong to an extension are left out everywhere: they are the extension's
// schema, not the application's.
const NOT_EXTENSION_OWNED: &str = "NOT EXISTS (SELECT 1 FROM pg_depend d
        WHERE d.objid = c.oid AND d.deptype = 'e')";

fn q_tables() -> String {
    format!(
        "SELECT c.relname::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND {NOT_EXTENSION_OWNED}"
    )
}

const Q_COLUMNS: &str =
    "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
       pg_get_expr(ad.adbin, ad.adrelid), a.attnotnull
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum";

const Q_CONSTRAINTS: &str = "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid)
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1";

const Q_INDEXES: &str = "SELECT t.relname::text, i.relname::text, pg_get_indexdef(i.oid)
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = $1";

const Q_TRIGGERS: &str = "SELECT c.relname::text, g.tgname::text, pg_get_triggerdef(g.oid)
  FROM pg_trigger g
  JOIN pg_class c ON c.oid = g.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND NOT g.tgisinternal";

const Q_FUNCTIONS: &str =
    "SELECT p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       md5(CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) ELSE p.prosrc END)
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND p.prokind <> 'a'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')";

fn q_relkind(kind: char) -> String {
    format!(
        "SELECT c.relname::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = '{kind}' AND {NOT_EXTENSION_OWNED}"
    )
}

const Q_EXTENSIONS: &str = "SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'";

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
