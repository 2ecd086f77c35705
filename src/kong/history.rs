//! Kong's migration history before 2.8.5 (`schemas/kong-history/`): every migration name
//! that core and the bundled plugins shipped from 1.0.0 to 2.8.5, with the releases that
//! listed it; the bootstrap of 1.0.3, 1.5.1, 2.0.5 and 2.5.1 as [`Release`]s; and the replay
//! that turns an empty database into one born on such a release and upgraded to 2.8.5 the way
//! Kong does it (2.8.5's `kong migrations up`, then `kong migrations finish`). It records what
//! Kong did; judging a database is `state`'s job, and nothing here renders or reads kong.conf.

use std::collections::BTreeMap;

use serde::Deserialize;
use tokio_postgres::Client;

use super::bootstrap;
use super::release::{embedded_text, Release};
use super::schema_meta::{self, Record, Row};
use super::state::kong_state;
use crate::error::{Error, Result};

const FOLDER: &str = "kong-history";

/// The releases whose bootstrap is kept as data.
pub const TAGS: [&str; 4] = ["1.0.3", "1.5.1", "2.0.5", "2.5.1"];

/// One migration name and the releases (1.0.0 … 2.8.5) whose `init.lua` listed it.
#[derive(Debug, Clone, Deserialize)]
pub struct Shipped {
    pub name: String,
    pub releases: Vec<String>,
}

impl Shipped {
    /// `1.0.0 … 1.5.1`, or the one release.
    pub fn span(&self) -> String {
        match (self.releases.first(), self.releases.last()) {
            (Some(a), Some(b)) if a != b => format!("{a} … {b}"),
            (Some(a), _) => a.clone(),
            _ => "no release".into(),
        }
    }
}

/// `migrations.json`: every name of every release from 1.0.0 to 2.8.5.
#[derive(Debug, Clone, Deserialize)]
pub struct History {
    pub releases: Vec<String>,
    /// Subsystem → its names, in the order of the newest release that lists each.
    pub subsystems: BTreeMap<String, Vec<Shipped>>,
}

impl History {
    pub fn load() -> Result<Self> {
        let text = embedded_text(&format!("{FOLDER}/migrations.json"))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Embedded(format!("schemas/{FOLDER}/migrations.json: {e}")))
    }

    /// The releases that shipped `subsystem/migration`, when a Kong OSS release from 1.0.0 to
    /// 2.8.5 did.
    pub fn shipped(&self, subsystem: &str, migration: &str) -> Option<&Shipped> {
        self.subsystems
            .get(subsystem)?
            .iter()
            .find(|s| s.name == migration)
    }
}

fn check_tag(tag: &str) -> Result<()> {
    if TAGS.contains(&tag) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "there is no bootstrap data for Kong {tag}; the histories kept are {}",
        TAGS.join(", ")
    )))
}

/// What `kong migrations bootstrap` of Kong `tag` runs (its migrations, in its order, with
/// 2.8.5's schema_meta DDL, which is identical at these tags).
pub fn release(tag: &str) -> Result<Release> {
    check_tag(tag)?;
    Release::load(&format!("{FOLDER}/{tag}"))
}

/// The schema_meta rows Kong leaves after bootstrapping `tag` and running 2.8.5's `up` and
/// `finish` (`<tag>/expected_schema_meta_after_2.8.5.json`), sorted by subsystem.
pub fn expected_schema_meta_after_285(tag: &str) -> Result<Vec<Row>> {
    check_tag(tag)?;
    #[derive(Deserialize)]
    struct File {
        rows: Vec<Row>,
    }
    let path = format!("{FOLDER}/{tag}/expected_schema_meta_after_2.8.5.json");
    let f: File = serde_json::from_str(&embedded_text(&path)?)
        .map_err(|e| Error::Embedded(format!("schemas/{path}: {e}")))?;
    let mut rows = f.rows;
    rows.sort_by(|a, b| a.subsystem.cmp(&b.subsystem));
    Ok(rows)
}

/// What one replay ran, as `(subsystem, migration)` per phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// 2.8.5's `up`, with how each was recorded.
    pub up: Vec<(String, String, Record)>,
    /// 2.8.5's `finish` (teardowns).
    pub finish: Vec<(String, String)>,
}

/// Builds, into `client`'s empty database (its current schema), a Kong database born on
/// `tag` and upgraded to 2.8.5: the bootstrap of `tag`, then 2.8.5's `up` and `finish`, all
/// with Kong's bookkeeping. Its tables hold only what Kong's own migrations insert (the
/// default workspace, the cluster id); loading entities is the caller's.
pub async fn build(client: &Client, tag: &str) -> Result<Replay> {
    let old = release(tag)?;
    bootstrap::bootstrap(client, &old).await?;
    upgrade_to_285(client).await
}

/// Kong 2.8.5's `kong migrations up` then `kong migrations finish` on a database that an
/// older Kong bootstrapped. `up` runs what 2.8.5's `State.load` classifies as new (names it
/// no longer lists are ignored), core first, then the plugins in byte order, recording
/// `pending` for a migration with a teardown; `finish` runs those teardowns in the same order,
/// and each record appends the name to `executed`.
pub async fn upgrade_to_285(client: &Client) -> Result<Replay> {
    let target = Release::kong_285()?;
    let read = || async {
        schema_meta::read(client)
            .await
            .map_err(|e| Error::db("replay: cannot read schema_meta", e))
    };
    let rows = read().await?;
    if let Some(r) = rows
        .iter()
        .find(|r| r.pending.as_ref().is_some_and(|p| !p.is_empty()))
    {
        return Err(Error::NotEligible(format!(
            "replay: `{}` has pending migrations {:?}; Kong 2.8.5's `up` refuses to run",
            r.subsystem, r.pending
        )));
    }
    let mut replay = Replay::default();
    for sub in &target.subsystems {
        let row = rows.iter().find(|r| r.subsystem == sub.name);
        let state = kong_state(&sub.name, row, &sub.names());
        for m in sub
            .migrations
            .iter()
            .filter(|m| state.new.contains(&m.name))
        {
            let ctx = format!("replay 2.8.5 up: {}/{}", sub.name, m.name);
            let rec = bootstrap::up(client, &ctx, &sub.name, m).await?;
            replay.up.push((sub.name.clone(), m.name.clone(), rec));
        }
    }
    let rows = read().await?;
    for sub in &target.subsystems {
        let pending: Vec<String> = rows
            .iter()
            .find(|r| r.subsystem == sub.name)
            .and_then(|r| r.pending.clone())
            .unwrap_or_default();
        for m in sub.migrations.iter().filter(|m| pending.contains(&m.name)) {
            let ctx = format!("replay 2.8.5 finish: {}/{}", sub.name, m.name);
            bootstrap::teardown(client, &ctx, &sub.name, m).await?;
            replay.finish.push((sub.name.clone(), m.name.clone()));
        }
    }
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_loads_and_its_rows_are_13() {
        for tag in TAGS {
            let r = release(tag).unwrap();
            assert_eq!(r.version, tag);
            assert_eq!(r.subsystems[0].name, "core");
            assert_eq!(
                expected_schema_meta_after_285(tag).unwrap().len(),
                13,
                "{tag}"
            );
        }
        assert!(matches!(release("1.2.3"), Err(Error::Usage(_))));
    }

    #[test]
    fn the_teardown_names_of_1x_are_history() {
        let h = History::load().unwrap();
        assert_eq!(h.releases.first().map(String::as_str), Some("1.0.0"));
        assert_eq!(h.releases.last().map(String::as_str), Some("2.8.5"));
        let s = h.shipped("core", "001_14_to_15").unwrap();
        assert_eq!(s.span(), "1.0.0 … 1.5.1");
        assert!(h.shipped("oauth2", "002_15_to_10").is_some());
        assert!(h.shipped("core", "016_280_to_300").is_none());
    }
}
