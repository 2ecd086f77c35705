//! Backups that can be proven whole: `snapshot` dumps a database in one exported snapshot
//! and records, from that same snapshot, what every table held (`manifest`);
//! `verify-backup` restores a dump into a throwaway and checks it against that record, or
//! against the live source (`verify`). Client programs are `pg::programs`'; nothing here
//! migrates.

pub mod manifest;
pub mod snapshot;
pub mod verify;

use std::collections::BTreeMap;

use tokio_postgres::GenericClient;

use crate::error::{Error, Result};
use crate::kong::{lts::LtsCatalog, schema_meta, state};
use crate::pg::catalog;
use crate::pg::fingerprint;
use manifest::{KongState, TableEntry};

pub use snapshot::{default_compress, take, SnapshotOptions, SnapshotResult};
pub use verify::{check_files, classify, verify, BackupReport, Input, VerifyOptions};

/// What the source holds, read inside one transaction.
pub(crate) struct Facts {
    pub schema: String,
    pub catalog: catalog::Catalog,
    pub rows: Option<Vec<schema_meta::Row>>,
    pub tables: BTreeMap<String, TableEntry>,
}

pub(crate) async fn read_facts(tx: &impl GenericClient, schema: Option<&str>) -> Result<Facts> {
    let schema: String = match schema {
        Some(s) => s.to_string(),
        None => tx
            .query_one(crate::pg::sql::session::CURRENT_SCHEMA, &[])
            .await
            .map_err(|e| Error::db("cannot read the current schema", e))?
            .get(0),
    };
    let catalog = catalog::read(tx, &schema).await?;
    let rows = if catalog.has_table("schema_meta") {
        tx.batch_execute(&crate::pg::sql::session::set_local_search_path(&schema))
            .await
            .map_err(|e| Error::db("cannot select the Kong schema", e))?;
        Some(
            schema_meta::read(tx)
                .await
                .map_err(|e| Error::db("cannot read schema_meta", e))?,
        )
    } else {
        None
    };
    let mut tables = BTreeMap::new();
    for t in catalog.tables.keys() {
        let (rows, checksum) = fingerprint::checksum_in(tx, &schema, t, "t.*", "t").await?;
        tables.insert(t.clone(), TableEntry { rows, checksum });
    }
    Ok(Facts {
        schema,
        catalog,
        rows,
        tables,
    })
}

pub(crate) fn kong_state(facts: &Facts) -> Result<KongState> {
    let cat = LtsCatalog::load()?;
    let v = state::judge(
        &state::Observed {
            schema_meta: facts.rows.as_deref(),
            catalog: &facts.catalog,
        },
        &cat,
        &state::Options::default(),
    );
    Ok(KongState {
        eligible: v.eligible,
        problems: v.problems.iter().map(|p| p.to_text()).collect(),
    })
}
