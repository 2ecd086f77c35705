//! `kong migrations bootstrap`, reproduced: every migration's `up` then its teardown, in
//! Kong's order, with Kong's bookkeeping after each step.

use tokio_postgres::Client;

use super::release::Release;
use super::schema_meta::Record;
use crate::error::{Error, Result};

pub async fn bootstrap(client: &Client, release: &Release) -> Result<()> {
    client
        .batch_execute(&release.bootstrap_sql)
        .await
        .map_err(|e| Error::db("bootstrap: cannot create schema_meta and locks", e))?;
    for sub in &release.subsystems {
        for m in &sub.migrations {
            let ctx = |phase: &str| {
                format!(
                    "bootstrap {}: {}/{} {phase}",
                    release.version, sub.name, m.name
                )
            };
            let up = m.up.trim();
            if !up.is_empty() {
                // Kong sends `BEGIN; <up>; COMMIT;` as one query, so up is atomic.
                let sql = format!(
                    "BEGIN;\n{up}{}\nCOMMIT;",
                    if up.ends_with(';') { "" } else { ";" }
                );
                if let Err(e) = client.batch_execute(&sql).await {
                    let _ = client.batch_execute("ROLLBACK").await;
                    return Err(Error::db(ctx("up"), e));
                }
            }
            let state = if m.teardown.is_some() {
                Record::Pending
            } else {
                Record::Executed
            };
            client
                .execute(state.sql(), &[&sub.name, &m.name])
                .await
                .map_err(|e| Error::db(ctx("record"), e))?;
            if let Some(td) = &m.teardown {
                client
                    .batch_execute(td)
                    .await
                    .map_err(|e| Error::db(ctx("teardown"), e))?;
                client
                    .execute(Record::Teardown.sql(), &[&sub.name, &m.name])
                    .await
                    .map_err(|e| Error::db(ctx("record teardown"), e))?;
            }
        }
    }
    Ok(())
}
