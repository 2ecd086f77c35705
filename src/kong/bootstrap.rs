//! `kong migrations bootstrap`, reproduced: every migration's `up` then its teardown, in
//! Kong's order, with Kong's bookkeeping after each step.

use tokio_postgres::Client;

use super::release::{Migration, Release};
use super::schema_meta::Record;
use crate::error::{Error, Result};

pub async fn bootstrap(client: &Client, release: &Release) -> Result<()> {
    client
        .batch_execute(&release.bootstrap_sql)
        .await
        .map_err(|e| Error::db("bootstrap: cannot create schema_meta and locks", e))?;
    for sub in &release.subsystems {
        for m in &sub.migrations {
            let ctx = format!("bootstrap {}: {}/{}", release.version, sub.name, m.name);
            up(client, &ctx, &sub.name, m).await?;
            if m.teardown.is_some() {
                teardown(client, &ctx, &sub.name, m).await?;
            }
        }
    }
    Ok(())
}

/// One migration's `up` as Kong's runner sends it (`BEGIN; <up>; COMMIT;` as one query, so
/// it is atomic; an empty up is skipped), then its record: `pending` when it has a teardown,
/// else `executed`. `ctx` names the step in errors.
pub async fn up(client: &Client, ctx: &str, subsystem: &str, m: &Migration) -> Result<Record> {
    let sql = m.up.trim();
    if !sql.is_empty() {
        let sql = format!(
            "BEGIN;\n{sql}{}\nCOMMIT;",
            if sql.ends_with(';') { "" } else { ";" }
        );
        if let Err(e) = client.batch_execute(&sql).await {
            // The up's own error is the one to report; the ROLLBACK only ends the block.
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(Error::db(format!("{ctx} up"), e));
        }
    }
    let state = if m.teardown.is_some() {
        Record::Pending
    } else {
        Record::Executed
    };
    client
        .execute(state.sql(), &[&subsystem, &m.name])
        .await
        .map_err(|e| Error::db(format!("{ctx} record"), e))?;
    Ok(state)
}

/// One migration's teardown (each query its own transaction, as Kong's connector sends
/// them), then its `teardown` record, which moves the name from `pending` to `executed`.
pub async fn teardown(client: &Client, ctx: &str, subsystem: &str, m: &Migration) -> Result<()> {
    let Some(td) = &m.teardown else {
        return Err(Error::Embedded(format!(
            "{subsystem}/{} is run as a teardown but the data has none for it",
            m.name
        )));
    };
    client
        .batch_execute(td)
        .await
        .map_err(|e| Error::db(format!("{ctx} teardown"), e))?;
    client
        .execute(Record::Teardown.sql(), &[&subsystem, &m.name])
        .await
        .map_err(|e| Error::db(format!("{ctx} record teardown"), e))?;
    Ok(())
}
