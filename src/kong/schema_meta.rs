//! Kong's migration bookkeeping, SQL as Kong 2.8.5/3.4.2 send it
//! (`kong/db/strategies/postgres/connector.lua` `record_migration`, identical at both tags).
//! The DDL of `schema_meta` and `locks` is data: `schemas/kong-2.8.5/bootstrap.sql`.

/// How a migration is recorded; Kong's three `record_migration` states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// `up` ran and there is no teardown.
    Executed,
    /// `up` ran; the teardown waits for `finish`.
    Pending,
    /// The teardown ran.
    Teardown,
}

impl Record {
    /// Parameters: $1 subsystem, $2 migration name.
    pub fn sql(self) -> &'static str {
        match self {
            Record::Executed => {
                "INSERT INTO schema_meta (key, subsystem, last_executed, executed)
     VALUES ('schema_meta', $1, $2, ARRAY[$2]::TEXT[])
ON CONFLICT (key, subsystem) DO UPDATE
        SET last_executed = EXCLUDED.last_executed,
            executed = ARRAY_APPEND(COALESCE(schema_meta.executed, ARRAY[]::TEXT[]), $2::TEXT)"
            }
            Record::Pending => {
                "INSERT INTO schema_meta (key, subsystem, pending)
     VALUES ('schema_meta', $1, ARRAY[$2]::TEXT[])
ON CONFLICT (key, subsystem) DO UPDATE
        SET pending = ARRAY_APPEND(schema_meta.pending, $2::TEXT)"
            }
            Record::Teardown => {
                "INSERT INTO schema_meta (key, subsystem, last_executed, executed)
     VALUES ('schema_meta', $1, $2, ARRAY[$2]::TEXT[])
ON CONFLICT (key, subsystem) DO UPDATE
        SET last_executed = EXCLUDED.last_executed,
            executed = ARRAY_APPEND(COALESCE(schema_meta.executed, ARRAY[]::TEXT[]), $2::TEXT),
            pending  = ARRAY_REMOVE(COALESCE(schema_meta.pending,  ARRAY[]::TEXT[]), $2::TEXT)"
            }
        }
    }
}

/// One `schema_meta` row as Kong reads it (`WHERE key = 'schema_meta'`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub subsystem: String,
    pub last_executed: Option<String>,
    pub executed: Option<Vec<String>>,
    pub pending: Option<Vec<String>>,
}

pub const SELECT_ROWS: &str = "SELECT subsystem, last_executed, executed, pending
  FROM schema_meta WHERE key = 'schema_meta' ORDER BY subsystem";

/// schema_meta of Kong's schema `schema`, inside the caller's transaction: the search_path is
/// set for that transaction only (Kong's SQL is unqualified, and so is this read).
pub async fn read_in(
    tx: &impl tokio_postgres::GenericClient,
    schema: &str,
) -> crate::error::Result<Vec<Row>> {
    use crate::error::Error;
    tx.batch_execute(&crate::pg::sql::session::set_local_search_path(schema))
        .await
        .map_err(|e| Error::db("cannot select the Kong schema", e))?;
    read(tx)
        .await
        .map_err(|e| Error::db("cannot read schema_meta", e))
}

pub async fn read(
    client: &impl tokio_postgres::GenericClient,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    Ok(client
        .query(SELECT_ROWS, &[])
        .await?
        .iter()
        .map(|r| Row {
            subsystem: r.get(0),
            last_executed: r.get(1),
            executed: r.get(2),
            pending: r.get(3),
        })
        .collect())
}

/// What `record` does to the rows, as PostgreSQL evaluates Kong's INSERT ... ON CONFLICT
/// (NULL arrays included: `array_append(NULL, x)` is `{x}`). Lets the checks predict
/// schema_meta exactly, whatever NULL/`{}` mix an old database carries.
pub fn simulate(rows: &mut Vec<Row>, subsystem: &str, name: &str, rec: Record) {
    let Some(row) = rows.iter_mut().find(|r| r.subsystem == subsystem) else {
        rows.push(Row {
            subsystem: subsystem.to_string(),
            last_executed: (rec != Record::Pending).then(|| name.to_string()),
            executed: (rec != Record::Pending).then(|| vec![name.to_string()]),
            pending: (rec == Record::Pending).then(|| vec![name.to_string()]),
        });
        return;
    };
    match rec {
        Record::Executed => {
            row.last_executed = Some(name.to_string());
            row.executed
                .get_or_insert_with(Vec::new)
                .push(name.to_string());
        }
        Record::Pending => row
            .pending
            .get_or_insert_with(Vec::new)
            .push(name.to_string()),
        Record::Teardown => {
            row.last_executed = Some(name.to_string());
            row.executed
                .get_or_insert_with(Vec::new)
                .push(name.to_string());
            let p = row.pending.get_or_insert_with(Vec::new);
            p.retain(|m| m != name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::lts::LtsCatalog;

    fn load(key: &str) -> Vec<Row> {
        #[derive(serde::Deserialize)]
        struct R {
            subsystem: String,
            last_executed: Option<String>,
            executed: Option<Vec<String>>,
            pending: Option<Vec<String>>,
        }
        let text = crate::kong::release::embedded_text("kong-3.4.2/schema_meta.json").unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rows: Vec<R> = serde_json::from_value(v[key].clone()).unwrap();
        let mut out: Vec<Row> = rows
            .into_iter()
            .map(|r| Row {
                subsystem: r.subsystem,
                last_executed: r.last_executed,
                executed: r.executed,
                pending: r.pending,
            })
            .collect();
        out.sort_by(|a, b| a.subsystem.cmp(&b.subsystem));
        out
    }

    /// The simulation reproduces the rows verified by running Kong's SQL (kong-3.4.2/schema_meta.json).
    #[test]
    fn simulated_up_and_finish_match_kongs_recorded_rows() {
        let cat = LtsCatalog::load().unwrap();
        let mut rows = load("before_up");
        for sub in &cat.subsystems {
            for step in &sub.sequence {
                let rec = if step.has_teardown {
                    Record::Pending
                } else {
                    Record::Executed
                };
                simulate(&mut rows, &sub.name, &step.name, rec);
            }
        }
        rows.sort_by(|a, b| a.subsystem.cmp(&b.subsystem));
        assert_eq!(rows, load("after_up"));
        for sub in &cat.subsystems {
            for step in sub.sequence.iter().filter(|s| s.has_teardown) {
                simulate(&mut rows, &sub.name, &step.name, Record::Teardown);
            }
        }
        rows.sort_by(|a, b| a.subsystem.cmp(&b.subsystem));
        assert_eq!(rows, load("after_finish"));
    }
}
