//! A Kong release's migrations, loaded from the data embedded from `schemas/`.

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::error::{Error, Result};

static SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/schemas");

/// A text file from `schemas/`, embedded in the binary at build time.
pub fn embedded_text(path: &str) -> Result<String> {
    SCHEMAS
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .map(str::to_string)
        .ok_or_else(|| Error::Embedded(format!("missing file schemas/{path}")))
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub name: String,
    /// Kong's `postgres.up` SQL (may be empty).
    pub up: String,
    /// SQL equivalent of the Lua `teardown`, when the migration has one.
    pub teardown: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Subsystem {
    pub name: String,
    pub migrations: Vec<Migration>,
}

impl Subsystem {
    pub fn has_teardown(&self) -> bool {
        self.migrations.iter().any(|m| m.teardown.is_some())
    }
    pub fn names(&self) -> Vec<String> {
        self.migrations.iter().map(|m| m.name.clone()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Release {
    pub version: String,
    /// The `schema_meta` and `locks` DDL Kong's connector runs before the first migration.
    pub bootstrap_sql: String,
    /// In the order Kong runs them: core, then plugins sorted by name.
    pub subsystems: Vec<Subsystem>,
}

#[derive(Deserialize)]
struct SequenceFile {
    kong_version: String,
    subsystems: Vec<SubsystemEntry>,
    /// Path of the bootstrap DDL relative to the folder (default `bootstrap.sql`); the
    /// history folders share 2.8.5's (`../kong-2.8.5/bootstrap.sql`).
    #[serde(default)]
    bootstrap_sql: Option<String>,
}

#[derive(Deserialize)]
struct SubsystemEntry {
    name: String,
    migrations: Vec<MigrationEntry>,
}

#[derive(Deserialize)]
struct MigrationEntry {
    name: String,
    up: String,
    teardown: Option<String>,
}

impl Release {
    /// The stock Kong 2.8.5 release (`schemas/kong-2.8.5`).
    pub fn kong_285() -> Result<Self> {
        Self::load("kong-2.8.5")
    }

    /// A release described by `schemas/<folder>/sequence.json` (e.g. `kong-history/1.0.3`).
    pub fn load(folder: &str) -> Result<Self> {
        let text = |rel: &str| embedded_text(&resolve(folder, rel));
        let seq: SequenceFile = serde_json::from_str(&text("sequence.json")?)
            .map_err(|e| Error::Embedded(format!("schemas/{folder}/sequence.json: {e}")))?;
        let mut subsystems = Vec::new();
        for s in seq.subsystems {
            let mut migrations = Vec::new();
            for m in s.migrations {
                migrations.push(Migration {
                    up: text(&m.up)?,
                    teardown: m.teardown.as_deref().map(text).transpose()?,
                    name: m.name,
                });
            }
            subsystems.push(Subsystem {
                name: s.name,
                migrations,
            });
        }
        let bootstrap_sql = match seq.bootstrap_sql.as_deref() {
            None => text("bootstrap.sql")?,
            Some(rel) => bootstrap_text(folder, rel)?,
        };
        Ok(Release {
            bootstrap_sql,
            version: seq.kong_version,
            subsystems,
        })
    }

    pub fn subsystem(&self, name: &str) -> Option<&Subsystem> {
        self.subsystems.iter().find(|s| s.name == name)
    }

    pub fn migration_count(&self) -> usize {
        self.subsystems.iter().map(|s| s.migrations.len()).sum()
    }
}

/// The shared bootstrap DDL a history folder names. Its path is written relative to the
/// history root (`kong-history/`), not to the tag's folder, so the folder and then each of its
/// ancestors is tried.
fn bootstrap_text(folder: &str, rel: &str) -> Result<String> {
    let mut base = folder.to_string();
    loop {
        let path = resolve(&base, rel);
        if SCHEMAS.get_file(&path).is_some() {
            return embedded_text(&path);
        }
        match base.rsplit_once('/') {
            Some((parent, _)) => base = parent.to_string(),
            None if !base.is_empty() => base = String::new(),
            None => {
                return Err(Error::Embedded(format!(
                    "schemas/{folder}/sequence.json names bootstrap_sql {rel}, which is not in schemas/"
                )))
            }
        }
    }
}

/// `folder/rel` with `..` components folded, as the embedded tree has no `..` entries.
fn resolve(folder: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kong_285_has_43_migrations_in_13_subsystems_core_first() {
        let r = Release::kong_285().unwrap();
        assert_eq!(r.version, "2.8.5");
        assert_eq!(r.subsystems.len(), 13);
        assert_eq!(r.migration_count(), 43);
        assert_eq!(r.subsystems[0].name, "core");
        let plugins: Vec<&str> = r.subsystems[1..].iter().map(|s| s.name.as_str()).collect();
        let mut sorted = plugins.clone();
        sorted.sort();
        assert_eq!(plugins, sorted, "plugin subsystems run in byte order");
        assert_eq!(
            r.subsystems[0].migrations.last().unwrap().name,
            "015_270_to_280"
        );
    }

    #[test]
    fn a_history_folder_shares_the_285_bootstrap() {
        assert_eq!(
            resolve("kong-history", "../kong-2.8.5/bootstrap.sql"),
            "kong-2.8.5/bootstrap.sql"
        );
        let r = Release::load("kong-history/1.0.3").unwrap();
        assert_eq!(r.version, "1.0.3");
        assert_eq!(r.bootstrap_sql, Release::kong_285().unwrap().bootstrap_sql);
        assert_eq!(r.subsystem("core").unwrap().names().len(), 3);
    }
}
