//! The LTS catalog: what a complete Kong 2.8.5 database has executed, and the 2.8.5 → 3.4.2
//! sequence with each migration's declared effects (`schemas/lts-2.8-to-3.4/sequence.json`).

use serde::{Deserialize, Serialize};

use super::plugins::Plugins;
use super::release::embedded_text;
use crate::error::{Error, Result};
use crate::pg::catalog::Catalog;

const FOLDER: &str = "lts-2.8-to-3.4";

/// One declared schema or data effect, e.g. `{"op":"add_column","table":"targets",...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// For `create_table`: the columns it creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

impl Effect {
    /// The schema object this effect leaves behind, if it creates one we can look for.
    pub fn created_object(&self) -> Option<String> {
        let t = self.table.as_deref().unwrap_or("?");
        let n = self.name.as_deref().unwrap_or("?");
        match self.op.as_str() {
            "create_table" => Some(format!("table {t}")),
            "add_column" => Some(format!("column {t}.{}", self.column.as_deref()?)),
            "create_index" => Some(format!("index {n}")),
            "create_trigger" => Some(format!("trigger {n}")),
            "create_function" => Some(format!("function {n}")),
            "add_constraint" => Some(format!("constraint {n}")),
            _ => None,
        }
    }

    /// Whether the object this effect creates exists in `cat` (None: nothing to look for).
    pub fn present_in(&self, cat: &Catalog) -> Option<bool> {
        let t = self.table.as_deref();
        let n = self.name.as_deref();
        Some(match self.op.as_str() {
            "create_table" => cat.has_table(t?),
            "add_column" => cat.has_column(t?, self.column.as_deref()?),
            "create_index" => cat.has_index(n?),
            "create_trigger" => cat.has_trigger(n?),
            "create_function" => cat.has_function(n?),
            "add_constraint" => cat.has_constraint(n?),
            "drop_table" => !cat.has_table(t?),
            _ => return None,
        })
    }

    pub fn describe(&self) -> String {
        let t = self.table.as_deref().unwrap_or("?");
        let n = self.name.as_deref().unwrap_or("?");
        let mut s = match self.op.as_str() {
            "create_table" => format!("create table {t}"),
            "drop_table" => format!("drop table {t}"),
            "add_column" => format!(
                "add column {t}.{} {}",
                self.column.as_deref().unwrap_or("?"),
                self.type_.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
            "add_constraint" => format!(
                "add {} constraint {n} on {t}",
                self.type_.as_deref().unwrap_or("").replace('_', " ")
            )
            .replace("add  constraint", "add constraint"),
            "create_index" => format!("create index {n} on {t}"),
            "create_trigger" => format!("create trigger {n} on {t}"),
            "create_function" => format!("create function {n}()"),
            "copy_rows" => format!(
                "copy rows {} → {}",
                self.from.as_deref().unwrap_or("?"),
                self.to.as_deref().unwrap_or("?")
            ),
            "rewrite_rows" | "delete_rows" => {
                let mut x = format!("{} {t}", self.op.replace('_', " "));
                if let Some(c) = &self.column {
                    x.push_str(&format!(".{c}"));
                }
                if let Some(f) = &self.filter {
                    x.push_str(&format!(" where {f}"));
                }
                if let Some(r) = &self.rule {
                    x.push_str(&format!(" by rule {r}"));
                }
                x
            }
            other => format!("{} {t}", other.replace('_', " ")),
        };
        if let Some(c) = &self.condition {
            s.push_str(&format!(" ({c})"));
        }
        s
    }

    /// Effects that happen only if some other object exists ("only when vaults_beta
    /// exists", "EE only") cannot be required. Other `condition` texts (e.g. "guarded on
    /// duplicate_column") describe how the SQL is written, not whether the object appears.
    pub fn is_conditional(&self) -> bool {
        self.condition
            .as_deref()
            .is_some_and(|c| c.starts_with("only when") || c.starts_with("EE only"))
    }

    /// Whether this effect acts on the schema object `object` (a [`Change`] `object`: `table`,
    /// `column`, `index`, ...) named `name` of `table`. A table the effect creates, drops or
    /// copies is touched with everything in it; a column by its own name; an index,
    /// constraint, trigger or function by its name. Nothing declares sequences, views or
    /// extensions, and column order is never an effect.
    ///
    /// [`Change`]: crate::pg::catalog::Change
    pub fn touches(&self, object: &str, table: Option<&str>, name: &str) -> bool {
        let whole_table = |t: &str| {
            (self.table.as_deref() == Some(t)
                && matches!(self.op.as_str(), "create_table" | "drop_table"))
                || self.from.as_deref() == Some(t)
                || self.to.as_deref() == Some(t)
        };
        match object {
            "table" => {
                self.table.as_deref() == Some(name)
                    || self.from.as_deref() == Some(name)
                    || self.to.as_deref() == Some(name)
            }
            "column" => table.is_some_and(|t| {
                whole_table(t)
                    || (self.table.as_deref() == Some(t) && self.column.as_deref() == Some(name))
            }),
            "index" | "constraint" | "trigger" => {
                self.name.as_deref() == Some(name) || table.is_some_and(whole_table)
            }
            "function" => {
                self.op == "create_function" && self.name.as_deref() == name.split('(').next()
            }
            // A grant goes with its table (created, dropped or renamed) and with its column.
            "grant" => match crate::pg::catalog::grant_target(name) {
                Some((t, None)) => whole_table(t),
                Some((t, Some(c))) => {
                    whole_table(t)
                        || (self.table.as_deref() == Some(t) && self.column.as_deref() == Some(c))
                }
                None => false,
            },
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Effects {
    #[serde(default)]
    pub up: Vec<Effect>,
    #[serde(default)]
    pub teardown: Vec<Effect>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requirement {
    pub subsystem: String,
    pub migration: String,
    #[serde(default)]
    pub why: String,
}

/// One migration of the 2.8.5 → 3.4.2 sequence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    #[serde(default)]
    pub source: String,
    /// Path (under the catalog folder) of the up SQL.
    #[serde(default)]
    pub up: Option<String>,
    /// Named data step run during `up` (a Rust port of Kong's Lua `up_f`).
    #[serde(default)]
    pub up_f: Option<String>,
    /// Path of the teardown SQL.
    #[serde(default)]
    pub teardown: Option<String>,
    /// Named data step run as (part of) the teardown.
    #[serde(default)]
    pub teardown_step: Option<String>,
    /// Kong's notion: recorded `pending` after up, finished by `kong migrations finish`.
    pub has_teardown: bool,
    #[serde(default)]
    pub effects: Effects,
    #[serde(default)]
    pub requires: Vec<Requirement>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Effects28 {
    pub migration: String,
    #[serde(default)]
    pub present: Vec<Effect>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subsystem {
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    /// What a complete 2.8.5 database has executed, in order.
    pub executed_2_8: Vec<String>,
    /// Kong 3.4.2's full list, in order.
    pub migrations_3_4: Vec<String>,
    /// What 3.4.2's `up`/`finish` run on a complete 2.8.5 database, in order.
    #[serde(default)]
    pub sequence: Vec<Step>,
    #[serde(default)]
    pub new_in_3_x: bool,
    /// Objects each 2.8.5 migration leaves in a complete 2.8.5 database.
    #[serde(default)]
    pub effects_2_8: Vec<Effects28>,
}

impl Subsystem {
    pub fn effects_28(&self, migration: &str) -> &[Effect] {
        self.effects_2_8
            .iter()
            .find(|e| e.migration == migration)
            .map(|e| e.present.as_slice())
            .unwrap_or(&[])
    }
    pub fn step(&self, migration: &str) -> Option<&Step> {
        self.sequence.iter().find(|s| s.name == migration)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LtsCatalog {
    pub from: String,
    pub to: String,
    /// In Kong's order: core, then plugins sorted by name.
    pub subsystems: Vec<Subsystem>,
    #[serde(default)]
    pub rule_doc: serde_json::Map<String, serde_json::Value>,
    /// Subsystems taken out by [`LtsCatalog::restrict`]: their plugin is not loaded, so Kong
    /// runs none of their migrations and their objects stay as the source has them.
    #[serde(skip)]
    pub not_loaded: Vec<Subsystem>,
}

impl LtsCatalog {
    pub fn load() -> Result<Self> {
        let text = embedded_text(&format!("{FOLDER}/sequence.json"))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Embedded(format!("schemas/{FOLDER}/sequence.json: {e}")))
    }

    pub fn subsystem(&self, name: &str) -> Option<&Subsystem> {
        self.subsystems.iter().find(|s| s.name == name)
    }

    /// Keeps only the subsystems Kong loads with `plugins` (core always); the others move to
    /// `not_loaded`, so every runner, judge and check that walks `subsystems` does what Kong
    /// does: nothing for them.
    pub fn restrict(&mut self, plugins: &Plugins) {
        let (kept, dropped): (Vec<Subsystem>, Vec<Subsystem>) =
            std::mem::take(&mut self.subsystems)
                .into_iter()
                .partition(|s| plugins.loads_subsystem(&s.name));
        self.subsystems = kept;
        self.not_loaded.extend(dropped);
    }

    /// A subsystem of the catalog whose plugin is not loaded.
    pub fn not_loaded(&self, name: &str) -> Option<&Subsystem> {
        self.not_loaded.iter().find(|s| s.name == name)
    }

    /// Tables whose rows or row text the sequence may change: every table an effect names
    /// (or copies from or to), but for the effects that leave rows as they are (a trigger,
    /// an index, a constraint added). A table outside this set keeps its rows unless
    /// something outside Kong's sequence writes to it.
    pub fn tables_rows_may_change(&self) -> std::collections::BTreeSet<String> {
        const ROWS_KEPT: &[&str] = &["create_trigger", "create_index", "add_constraint"];
        self.subsystems
            .iter()
            .flat_map(|s| &s.sequence)
            .flat_map(|st| st.effects.up.iter().chain(&st.effects.teardown))
            .filter(|e| !ROWS_KEPT.contains(&e.op.as_str()))
            .flat_map(|e| [&e.table, &e.from, &e.to])
            .flatten()
            .cloned()
            .collect()
    }

    /// The first migration of the sequence (loaded subsystems only) whose declared effects
    /// act on this object, as `(subsystem, migration)`.
    pub fn touched_by(
        &self,
        object: &str,
        table: Option<&str>,
        name: &str,
    ) -> Option<(String, String)> {
        self.subsystems.iter().find_map(|sub| {
            sub.sequence.iter().find_map(|step| {
                step.effects
                    .up
                    .iter()
                    .chain(&step.effects.teardown)
                    .any(|e| e.touches(object, table, name))
                    .then(|| (sub.name.clone(), step.name.clone()))
            })
        })
    }

    /// SQL file of the catalog (e.g. an up or teardown path from a `Step`).
    pub fn sql(&self, rel: &str) -> Result<String> {
        embedded_text(&format!("{FOLDER}/{rel}"))
    }
}
