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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub subsystem: String,
    pub last_executed: Option<String>,
    pub executed: Option<Vec<String>>,
    pub pending: Option<Vec<String>>,
}

pub const SELECT_ROWS: &str = "SELECT subsystem, last_executed, executed, pending
  FROM schema_meta WHERE key = 'schema_meta' ORDER BY subsystem";

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
