//! Phase `restore`: the source (a dump, a snapshot directory proven whole first, or a live
//! database dumped in one snapshot) restored into the throwaway with pg_restore; and, with
//! a real Kong binary, that binary's own bootstrap as the golden reference.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::{Ctx, Next, Source};
use crate::backup::manifest::{self, Manifest, TableEntry};
use crate::error::{Error, Exit, Result};
use crate::kong::schema_meta::{self, Row};
use crate::pg::catalog::{self, Catalog};
use crate::pg::programs;
use crate::throwaway::Throwaway;

pub(crate) struct Restored {
    /// The dump restored (kept for the rollback rehearsal).
    pub dump: PathBuf,
    pub dump_bytes: u64,
    pub restore_s: f64,
    /// Per table fingerprints from a snapshot's manifest (format 2 on): the "before" side.
    pub known_tables: Option<BTreeMap<String, TableEntry>>,
    /// Holds a dump taken from a live source; removed when the rehearsal ends.
    _dump_dir: tempfile::TempDir,
}

pub(crate) async fn restore(
    ctx: &mut Ctx<'_>,
    tw: &Throwaway,
    source: &Source,
) -> Result<Next<Restored>> {
    let dump_dir = programs::private_dump_dir()?;
    let mut known_tables = None;
    let dump = match source {
        Source::Dump(p) => p.clone(),
        Source::Snapshot(dir) => {
            let m = Manifest::load(&dir.join(manifest::MANIFEST))?;
            let bad = crate::backup::check_files(dir, &m)?;
            if !bad.is_empty() {
                ctx.problems("files", bad);
                return Ok(Next::Stop(Exit::Verification));
            }
            if m.format_version < manifest::FINGERPRINTS_SINCE {
                // Its md5 checksums cannot stand for today's fingerprints: the restore is
                // read as the "before" side instead.
                ctx.report.warnings.push(format!(
                    "the snapshot's manifest is format {} (an older kong-rehearse): the \
                     \"before\" side is read from the restore, not taken from the manifest; \
                     take the snapshot again to have the rehearsal check the restore against it",
                    m.format_version
                ));
            } else {
                known_tables = Some(m.tables.clone());
            }
            dir.join(manifest::DUMP_DIR)
        }
        Source::Url(src) => {
            let t0 = Instant::now();
            ctx.progress
                .line(format!("dumping {src} (pg_dump, one snapshot)"));
            let out = dump_dir.path().join("source.dump");
            let pg_dump = tw.client_tool("pg_dump")?;
            // A child process: the references keep loading meanwhile.
            super::blocking(|| programs::pg_dump_custom(&pg_dump, src, &out))?;
            ctx.done("dump", t0);
            out
        }
    };
    let dump_bytes = programs::dump_size(&dump);
    let t0 = Instant::now();
    ctx.progress
        .line(format!("restoring into {}", tw.describe()));
    // pg_restore is a child process waited for in place: the runtime's other tasks (the
    // reference schemas loading) go on meanwhile.
    let restored = super::blocking_async(crate::backup::restore_dump(
        tw,
        &dump,
        ctx.opts.restore_jobs,
        dump_dir.path(),
        !ctx.opts.rollback.is_empty(),
    ))
    .await?;
    ctx.report.warnings.extend(restored.grants.note());
    let dump = restored.path;
    let restore_s = t0.elapsed().as_secs_f64().max(1e-6);
    ctx.done("restore", t0);
    Ok(Next::Go(Restored {
        dump,
        dump_bytes,
        restore_s,
        known_tables,
        _dump_dir: dump_dir,
    }))
}

/// Who owns each table of `schema` in the source as dumped (the restore itself leaves owners
/// out): read from the dump the operator gave, the snapshot's archive, or the dump taken of a
/// live source.
pub(crate) fn owners(
    tw: &Throwaway,
    source: &Source,
    restored: &Restored,
    schema: &str,
) -> Result<BTreeMap<String, String>> {
    let dump = match source {
        Source::Dump(p) | Source::Snapshot(p) => p,
        Source::Url(_) => &restored.dump,
    };
    crate::backup::table_owners(tw, dump, schema)
}

/// With a real Kong, its own `bootstrap` is the golden reference: it knows the subsystems
/// (Enterprise, custom plugins) the built-in catalog does not.
pub(crate) async fn golden_reference(
    ctx: &mut Ctx<'_>,
    tw: &mut Throwaway,
) -> Result<Option<(Catalog, Vec<Row>)>> {
    let Some(k) = &ctx.kong else {
        return Ok(None);
    };
    let t0 = Instant::now();
    let spec = tw.sibling("kong_reference_bootstrap").await?;
    let out = k.migrations(&spec, &["bootstrap"])?;
    let ok = out.exit_code == Some(0);
    let msg = format!("{}{}", out.stdout, out.stderr);
    let bin = k.bin.display().to_string();
    ctx.report.kong_output.push(out);
    if !ok {
        return Err(Error::ExternalTool {
            tool: format!("{bin} migrations bootstrap"),
            status: "non-zero".into(),
            stderr: msg.trim().to_string(),
            fix: "the golden reference database could not be bootstrapped: check that --kong-bin is a working Kong 3.4 and that its plugins= setting matches production",
        });
    }
    let client = spec.connect().await?;
    let cat_ref = catalog::read(&client, "public").await?;
    let rows = schema_meta::read(&client)
        .await
        .map_err(|e| Error::db("cannot read the reference schema_meta", e))?;
    ctx.done("bootstrap_reference", t0);
    Ok(Some((cat_ref, rows)))
}
