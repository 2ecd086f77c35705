//! The server backend: a uniquely named scratch database on a server the user already runs.

use std::sync::atomic::{AtomicU32, Ordering};

use super::guard::{self, Undo};
use crate::error::{describe_pg_error, Error, Result};
use crate::pg::conn::ConnSpec;
use crate::pg::sql::session as sql;

pub struct ScratchDb {
    /// Where CREATE/DROP DATABASE are issued from.
    pub admin: ConnSpec,
    /// The scratch database itself.
    pub target: ConnSpec,
    guard_id: Option<u64>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `kong_rehearse_<unix seconds>_<pid>_<n>`: unique per process and run, and easy to spot
/// (and drop by hand) if a machine dies before cleanup.
pub fn unique_name() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "kong_rehearse_{secs}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl ScratchDb {
    pub async fn create(admin: &ConnSpec) -> Result<Self> {
        let name = unique_name();
        // Registered before the CREATE is sent, so that work cancelled while it runs (a
        // stopped rehearsal, Ctrl-C) still tries to drop it (DROP DATABASE IF EXISTS).
        let db = ScratchDb {
            admin: admin.clone(),
            target: admin.with_dbname(&name),
            guard_id: Some(guard::register(Undo::ScratchDatabase {
                admin: admin.clone(),
                name: name.clone(),
            })),
        };
        let created = async {
            admin
                .connect()
                .await?
                .batch_execute(&sql::create_database(&name))
                .await
                .map_err(|e| Error::ScratchDatabase {
                    name: name.clone(),
                    target: admin.to_string(),
                    detail: describe_pg_error(&e),
                })
        }
        .await;
        if let Err(e) = created {
            // The CREATE failed: no database to drop, and no cleanup warning about one.
            db.keep();
            return Err(e);
        }
        Ok(db)
    }

    pub fn keep(mut self) {
        if let Some(id) = self.guard_id.take() {
            guard::take(id);
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Some(undo) = self.guard_id.take().and_then(guard::take) {
            undo.run();
        }
    }
}

async fn drop_database(admin: &ConnSpec, name: &str) -> Result<()> {
    let client = admin.connect().await?;
    let version: i32 = client
        .query_one(sql::SERVER_VERSION_NUM, &[])
        .await
        .map_err(|e| Error::db("cannot read the server version", e))?
        .get(0);
    let sql = if version >= 130000 {
        sql::drop_database(name, true)
    } else {
        client
            .execute(sql::TERMINATE_OTHERS, &[&name])
            .await
            .map_err(|e| Error::db("cannot end sessions on the scratch database", e))?;
        sql::drop_database(name, false)
    };
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| Error::ScratchDatabase {
            name: name.into(),
            target: admin.to_string(),
            detail: describe_pg_error(&e),
        })
}

/// Drop runs in sync code, possibly inside a tokio runtime (where blocking on another
/// runtime would panic), so the async work gets a thread and a runtime of its own.
pub(crate) fn drop_database_blocking(admin: &ConnSpec, name: &str) -> Result<()> {
    let admin = admin.clone();
    let name = name.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start a runtime for", "cleanup", e))?;
        rt.block_on(drop_database(&admin, &name))
    })
    .join()
    .unwrap_or_else(|_| Err(Error::Internal("the cleanup thread panicked".into())))
}
