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
use crate::pg::conn::ConnSpec;
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

/// `tx` is a REPEATABLE READ transaction on `spec`'s database that stays open for the call:
/// the tables are fingerprinted over `workers` more connections that adopt its snapshot.
pub(crate) async fn read_facts(
    tx: &impl GenericClient,
    spec: &ConnSpec,
    schema: Option<&str>,
    workers: usize,
) -> Result<Facts> {
    let schema = crate::pg::schema_or_current(tx, schema).await?;
    let catalog = catalog::read(tx, &schema).await?;
    let rows = if catalog.has_table("schema_meta") {
        Some(schema_meta::read_in(tx, &schema).await?)
    } else {
        None
    };
    let keys = fingerprint::table_keys(tx, &schema).await?;
    let scopes = fingerprint::whole_table_scopes(&catalog, &keys);
    let snapshot = fingerprint::export_snapshot(tx).await?;
    let fps = fingerprint::fingerprint_all(
        spec,
        Some(&snapshot),
        scopes.into_values().collect(),
        workers,
    )
    .await?;
    let tables: BTreeMap<String, TableEntry> = fps
        .into_iter()
        .map(|f| (f.table.clone(), TableEntry::from(f)))
        .collect();
    Ok(Facts {
        schema,
        catalog,
        rows,
        tables,
    })
}

/// Whether a restore carries the dump's grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    /// Every role the grants name exists on the target (the tool created the missing ones
    /// on a server it started).
    Restored,
    /// The target is someone else's server, which lacks these roles: the tool does not
    /// create roles there, so the restore leaves all grants out.
    NotRestored { missing: Vec<String> },
}

impl Grants {
    pub fn restored(&self) -> bool {
        matches!(self, Grants::Restored)
    }

    /// What to tell the operator when grants were left out.
    pub fn note(&self) -> Option<String> {
        let Grants::NotRestored { missing } = self else {
            return None;
        };
        Some(format!(
            "grants were not restored, so they are not checked: the dump grants to role(s) {} \
             that do not exist on the target server, and kong-rehearse does not create roles \
             on a server it did not start. Create them there (`CREATE ROLE name NOLOGIN`) or \
             use the default local throwaway",
            missing.join(", ")
        ))
    }
}

/// Makes every role `dump`'s grants name exist on the throwaway before a restore that
/// carries them: missing roles are created (NOLOGIN) on a server the tool started, never on
/// someone else's server, where the grants are then left out. An archive whose grant entries
/// cannot be listed is restored as is: pg_restore then names its damage.
pub async fn prepare_grants(
    tw: &crate::throwaway::Throwaway,
    dump: &std::path::Path,
    input: Input,
) -> Result<Grants> {
    let roles = if input.is_plain_sql() {
        crate::pg::plain_sql::scan(dump)?.roles
    } else {
        match crate::pg::programs::acl_statements(&tw.client_tool("pg_restore")?, dump) {
            Ok(sql) => crate::pg::acl::roles_in(&sql),
            Err(_) => return Ok(Grants::Restored),
        }
    };
    if roles.is_empty() {
        return Ok(Grants::Restored);
    }
    let client = tw.target().connect().await?;
    let existing: std::collections::BTreeSet<String> = client
        .query(crate::pg::sql::catalog::Q_ROLES, &[])
        .await
        .map_err(|e| Error::db("cannot read the roles of the throwaway", e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let missing: Vec<String> = roles.difference(&existing).cloned().collect();
    if missing.is_empty() {
        return Ok(Grants::Restored);
    }
    let Some(admin) = tw.admin() else {
        return Ok(Grants::NotRestored { missing });
    };
    let admin = admin.connect().await?;
    for role in &missing {
        let q = crate::pg::sql::catalog::create_role(&crate::pg::quote_ident(role));
        if let Err(e) = admin.batch_execute(&q).await {
            // Another restore into the same server may have made it meanwhile.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT) {
                return Err(Error::db(format!("cannot create the role {role}"), e));
            }
        }
    }
    Ok(Grants::Restored)
}

/// Who owns each table of `schema` in the dump (what a restore with `--no-owner` drops):
/// from an archive's table of contents, or a plain dump's `ALTER TABLE … OWNER TO`. Empty
/// when the dump does not say (plain SQL taken with `--no-owner`, an unreadable archive).
pub fn table_owners(
    tw: &crate::throwaway::Throwaway,
    dump: &std::path::Path,
    schema: &str,
) -> Result<BTreeMap<String, String>> {
    let Ok(input) = verify::classify(dump) else {
        return Ok(BTreeMap::new());
    };
    if input.is_plain_sql() {
        return Ok(crate::pg::plain_sql::scan(dump)?
            .owners
            .into_iter()
            .filter(|((s, _), _)| s == schema)
            .map(|((_, t), o)| (t, o))
            .collect());
    }
    let dump = if input == Input::SnapshotDir {
        dump.join(manifest::DUMP_DIR)
    } else {
        dump.to_path_buf()
    };
    Ok(
        match crate::pg::programs::archive_list(&tw.client_tool("pg_restore")?, &dump) {
            Ok(list) => crate::preflight::ownership::from_archive_list(&list, schema),
            Err(_) => BTreeMap::new(),
        },
    )
}

/// A dump restored into the throwaway.
pub struct RestoredDump {
    /// An archive pg_restore can read again (the dump itself, or one made of a plain-SQL
    /// restore).
    pub path: std::path::PathBuf,
    pub grants: Grants,
}

/// Restores any dump `run --dump` and `verify-backup` accept (custom, directory, plain SQL,
/// gzip'ed plain SQL) into the throwaway: archives with `pg_restore --exit-on-error`, plain SQL
/// as SQL only (a dump holding anything else is refused whole, exit 2, nothing run). Returns
/// an archive pg_restore can read for the rollback rehearsal: the dump itself, or for plain
/// SQL, when `archive_for_rollback`, a `pg_dump -Fc` of what was restored, written into
/// `work_dir`.
pub async fn restore_dump(
    tw: &crate::throwaway::Throwaway,
    dump: &std::path::Path,
    jobs: u32,
    work_dir: &std::path::Path,
    archive_for_rollback: bool,
) -> Result<RestoredDump> {
    let input =
        verify::classify(dump).map_err(|p| Error::Usage(format!("{}. {}", p.message, p.fix)))?;
    let grants = prepare_grants(tw, dump, input).await?;
    let privileges = grants.restored();
    if !input.is_plain_sql() {
        crate::pg::programs::pg_restore(
            &tw.client_tool("pg_restore")?,
            dump,
            tw.target(),
            jobs,
            privileges,
        )?;
        return Ok(RestoredDump {
            path: dump.to_path_buf(),
            grants,
        });
    }
    crate::pg::plain_sql::restore(dump, tw.target(), privileges).await?;
    if !archive_for_rollback {
        return Ok(RestoredDump {
            path: dump.to_path_buf(),
            grants,
        });
    }
    let archive = work_dir.join("restored-plain-sql.dump");
    crate::pg::programs::pg_dump_custom(&tw.client_tool("pg_dump")?, tw.target(), &archive)?;
    Ok(RestoredDump {
        path: archive,
        grants,
    })
}

/// The first rows of `table` that differ between `want` (what the restore is compared
/// with) and `got` (the restore), both live, named by key: "" when the chunks agree or
/// cannot say. Reads at most two chunks of each side again.
pub(crate) async fn differing_rows(
    want_db: &ConnSpec,
    got_db: &ConnSpec,
    schema: &str,
    table: &str,
    want: &TableEntry,
    got: &TableEntry,
) -> Result<String> {
    let (Some(wc), Some(gc)) = (&want.chunks, &got.chunks) else {
        return Ok(String::new());
    };
    let Some(diff) = fingerprint::first_difference(wc, gc) else {
        return Ok(String::new());
    };
    let (a, b) = (want_db.connect().await?, got_db.connect().await?);
    let sa = fingerprint::whole_tables(&a, schema).await?.remove(table);
    let sb = fingerprint::whole_tables(&b, schema).await?.remove(table);
    let (Some(sa), Some(sb)) = (sa, sb) else {
        return Ok(String::new());
    };
    let rows = fingerprint::locate(&a, &sa, &b, &sb, &diff, 5).await?;
    if rows.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "; by {}: {}",
        wc.key.join(", "),
        rows.iter()
            .map(|r| format!("{} {}", r.key, r.what))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

pub(crate) fn kong_state(facts: &Facts) -> Result<KongState> {
    let cat = LtsCatalog::load()?;
    let v = state::judge(
        &state::Observed {
            schema_meta: facts.rows.as_deref(),
            catalog: &facts.catalog,
            plugins_in_use: None,
        },
        &cat,
        &state::Options::default(),
    )?;
    Ok(KongState {
        eligible: v.eligible,
        problems: v.problems.iter().map(|p| p.to_text()).collect(),
    })
}
