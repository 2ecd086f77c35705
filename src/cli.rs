//! Command-line surface (clap derive). Only commands that work are listed here; parsing only,
//! no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kong-rehearse",
    version,
    about = "Rehearse the Kong Gateway 2.8 LTS -> 3.4 LTS database upgrade on a throwaway PostgreSQL",
    after_help = "Exit codes: 0 pass, 1 verification failed, 2 usage error, 3 not eligible or hazard, \
                  4 a migration failed, 5 environment error."
)]
pub struct Cli {
    /// Output format of the report on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print only the report (no progress lines on stderr).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Read the database connection (pg_host, pg_port, pg_user, pg_password, pg_database,
    /// pg_schema, pg_ssl) from this kong.conf when no URL is given, and for `run`, `plan` and
    /// `status` its `plugins` (Kong migrates only the subsystems of loaded plugins);
    /// KONG_PG_* and KONG_PLUGINS override it, as in Kong.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "KONG_REHEARSE_KONG_CONF"
    )]
    pub kong_conf: Option<PathBuf>,

    /// More detail on stderr: -v lists each step, -vv also each SQL statement the built-in
    /// runner sends. (RUST_LOG overrides.)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a stock Kong 2.8.5 database filled with realistic, deterministic data.
    ///
    /// With --out, the database is built on a throwaway PostgreSQL and written as a
    /// pg_dump custom-format file (mode 0600). With --into, it is built into an existing,
    /// empty database.
    Fixture(FixtureArgs),

    /// Judge a Kong database's migration state: is it exactly a complete Kong 2.8.5
    /// database, eligible for the 2.8 → 3.4 LTS upgrade? Reads only (one read-only
    /// transaction). Exit 0 eligible, 3 not eligible, 5 cannot connect or read.
    Status(StateArgs),

    /// Print the ordered steps a rehearsal would run on this database: every subsystem's
    /// `up` (and data step), then every teardown, each with its declared effects.
    Plan(StateArgs),

    /// Rehearse the 2.8 → 3.4 upgrade of a Kong database (a dump file or a live database,
    /// which is only read) on a throwaway PostgreSQL, and verify every phase.
    /// Exit 0 pass, 1 verification failed, 3 not eligible or hazard, 4 a migration failed,
    /// 5 environment error.
    Run(RunArgs),

    /// Build a Kong 2.8.5 fixture on a throwaway PostgreSQL and rehearse its upgrade: the
    /// whole tool end to end, with nothing to prepare.
    Demo(DemoArgs),

    /// Check a Kong 2.x declarative file (kong.yaml / kong.json, DB-less or hybrid data
    /// plane backups) for what 3.4 does differently: regex paths without `~`,
    /// `_format_version`, route regexes the 3.4 router rejects, changed plugin settings.
    /// Exit 0 clean, 1 findings.
    LintDeclarative(LintDeclarativeArgs),

    /// Check a Kong 2.8 kong.conf against 3.4: removed and deprecated parameters, and
    /// defaults that changed behaviour. Exit 1 on errors and warnings; changed defaults the
    /// file leaves unset are notices (exit 0) unless `--strict`.
    LintConf(LintConfArgs),

    /// Judge a database someone already rolled back: 2.8 schema_meta but 3.x objects or
    /// columns, `~` route paths in a 2.8 database, or contents that differ from the snapshot
    /// manifest taken before the upgrade. Reads only. Exit 0 clean, 3 leftovers found.
    RollbackCheck(RollbackCheckArgs),

    /// Dump a database (pg_dump -Fd in one exported snapshot) into a new directory, with a
    /// manifest of what every table held in that same snapshot and the sha256 of every file.
    /// The source is only read.
    Snapshot(SnapshotArgs),

    /// Prove that a backup restores whole: check files against the manifest, restore into a
    /// throwaway with exit-on-error, then compare every table with the manifest (or the live
    /// source) and check foreign keys. Exit 0 intact, 1 integrity failure, 5 environment.
    VerifyBackup(VerifyBackupArgs),
}

#[derive(Debug, Args)]
pub struct LintConfArgs {
    /// The kong.conf to check.
    pub file: PathBuf,

    /// Fail (exit 1) on notices too: defaults that change under a file that leaves them
    /// unset, and deprecated values 3.4 still honours. Without it they are printed, exit 0.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct LintDeclarativeArgs {
    /// The declarative file (YAML or JSON).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RollbackCheckArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// The manifest of the snapshot taken before the upgrade; every table must match it.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The database to snapshot (URL or conninfo; default: the libpq environment).
    #[arg(long)]
    pub source: Option<String>,

    /// A new (or empty) directory for the snapshot; created mode 0700.
    #[arg(long)]
    pub out: PathBuf,

    /// Parallel pg_dump jobs.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,

    /// pg_dump --compress value (default: the fastest the installed pg_dump offers: gzip
    /// level 1 up to PostgreSQL 15, lz4 from 16).
    #[arg(long)]
    pub compress: Option<String>,

    /// Kong's pg_schema, when it is not the connection's current schema.
    #[arg(long)]
    pub schema: Option<String>,

    /// Directory of the PostgreSQL client programs (pg_dump).
    #[arg(long, env = "PG_BIN")]
    pub pg_bin: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyBackupArgs {
    /// A snapshot directory, a pg_dump directory-format dump, a custom-format file, or a
    /// plain SQL file.
    pub path: PathBuf,

    /// The snapshot manifest to check against (default: PATH/manifest.json when PATH is a
    /// snapshot directory).
    #[arg(long)]
    pub manifest: Option<PathBuf>,

    /// Compare the restored contents with this live database instead, read in one snapshot.
    #[arg(long)]
    pub against: Option<String>,

    /// Parallel pg_restore jobs.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,

    /// Kong's pg_schema in the backup, when it is not `public` (default: the manifest's).
    #[arg(long)]
    pub schema: Option<String>,

    #[command(flatten)]
    pub throwaway: ThrowawayArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RehearsalArgs {
    /// Kong's pg_schema in the source, when it is not `public` (default: a snapshot
    /// manifest's schema, else `pg_schema` from --kong-conf / KONG_PG_SCHEMA).
    #[arg(long)]
    pub schema: Option<String>,

    /// Stop after `kong migrations up`: with --keep, the database is exactly as production's
    /// would be between `up` and `finish`, for testing 2.8 nodes against it.
    #[arg(long, value_enum)]
    pub stop_after: Option<StopAfter>,

    /// Run the migrations even when pre-flight hazards are found (to see how they fail).
    #[arg(long)]
    pub skip_hazard_check: bool,

    /// Accept a subsystem the LTS catalog does not know (a custom plugin); repeatable.
    #[arg(long = "allow-unknown", value_name = "SUBSYSTEM")]
    pub allow_unknown: Vec<String>,

    /// Treat runtime hazards (route regexes the 3.4 router rejects, plugin settings whose
    /// meaning changed) as failures (exit 3) instead of warnings.
    #[arg(long)]
    pub strict: bool,

    /// A `pg_dump --schema-only` file to use as the expected Kong 3.4.2 schema instead of
    /// the built-in one (e.g. from a `kong migrations bootstrap` of your own build).
    #[arg(long, value_name = "FILE")]
    pub reference_schema: Option<PathBuf>,

    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,

    /// Also write a JUnit XML report (one testsuite per phase, one testcase per check).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Also write a Markdown summary (for a GitHub step summary or a PR comment).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Parallel jobs for pg_restore.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,

    /// Who runs the migrations: `builtin` (no Kong install needed; Kong OSS 2.8.5 → 3.4.2),
    /// or `kong` (the real `kong migrations up`/`finish` of --kong-bin, for Kong Enterprise
    /// and custom plugins; its `kong migrations bootstrap` becomes the reference schema).
    #[arg(long, value_enum, default_value_t = RunnerChoice::Builtin)]
    pub runner: RunnerChoice,

    /// After the upgrade, rehearse the way back on the same throwaway: `clean` (the upgrade
    /// guide's `pg_restore --clean` into the upgraded database), `recreate` (re-create the
    /// schema, then restore), or `both` (the default when the flag has no value), and
    /// recommend the one that restores the 2.8 database exactly.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "both")]
    pub rollback: Option<RollbackChoice>,

    /// The `kong` command to run with `--runner kong`.
    #[arg(long, value_name = "PATH", default_value = "kong")]
    pub kong_bin: PathBuf,

    /// Kong's `kong migrations --db-timeout`: a step whose query outlasts it fails the run
    /// (exit 4), as production's migration would stop there.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_timeout: u64,

    /// While `up` and `finish` run, send what 2.8 nodes send (router and plugin rebuild
    /// reads, cluster_events polls, key-auth lookups, rate-limiting counters) on separate
    /// connections, and report how long each waited and behind which step.
    #[arg(long)]
    pub workload: bool,

    /// On a second copy, cut the migration connection halfway through this step
    /// (SUBSYSTEM/MIGRATION:PART, e.g. core/016_280_to_300:up_f, or `all` for every data
    /// step and teardown), rerun as an operator would, and compare with the clean run.
    #[arg(long, value_name = "STEP|all", value_parser = crate::rehearsal::forecast::interrupt::parse)]
    pub interrupt: Option<crate::rehearsal::forecast::InterruptChoice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RollbackChoice {
    Clean,
    Recreate,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunnerChoice {
    Builtin,
    Kong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StopAfter {
    Up,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A pg_dump archive of the Kong 2.8 database: custom (-Fc) or directory (-Fd) format,
    /// or plain SQL (`pg_dump > kong.sql`, also gzip'ed as `.sql.gz`). Plain SQL is executed
    /// as SQL only: a psql meta-command other than pg_dump's own is refused.
    #[arg(long, conflicts_with = "source", required_unless_present_any = ["source", "snapshot"])]
    pub dump: Option<PathBuf>,

    /// A live Kong 2.8 database (URL or conninfo); dumped in one snapshot, never written.
    #[arg(long, conflicts_with = "snapshot")]
    pub source: Option<String>,

    /// A `kong-rehearse snapshot` directory: its files are checked against the manifest,
    /// and the manifest's counts and checksums are the "before" side.
    #[arg(long, conflicts_with = "dump")]
    pub snapshot: Option<PathBuf>,

    #[command(flatten)]
    pub rehearsal: RehearsalArgs,

    #[command(flatten)]
    pub throwaway: ThrowawayArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Fixture size (see `fixture --scale`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub scale: u32,

    #[arg(long, default_value_t = 2808)]
    pub seed: u64,

    #[command(flatten)]
    pub rehearsal: RehearsalArgs,

    #[command(flatten)]
    pub throwaway: ThrowawayArgs,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The Kong database (URL or key=value conninfo). Default: the libpq environment
    /// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
    #[arg(long)]
    pub db: Option<String>,

    /// Kong's pg_schema, when it is not the connection's current schema (usually `public`).
    #[arg(long)]
    pub schema: Option<String>,

    /// Accept a subsystem the LTS catalog does not know (a custom plugin); repeatable.
    #[arg(long = "allow-unknown", value_name = "SUBSYSTEM")]
    pub allow_unknown: Vec<String>,

    /// Treat runtime hazards (route regexes the 3.4 router rejects, plugin settings whose
    /// meaning changed) as failures (exit 3) instead of warnings.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct FixtureArgs {
    /// Size factor: 1 gives about a thousand rows, 1000 over a million.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub scale: u32,

    /// Seed for every generated value; the same seed and scale give identical tables.
    #[arg(long, default_value_t = 2808)]
    pub seed: u64,

    /// Write a pg_dump custom-format file here.
    #[arg(long, conflicts_with = "into", required_unless_present = "into")]
    pub out: Option<PathBuf>,

    /// Build into this existing, empty database (URL or key=value conninfo) instead.
    #[arg(long)]
    pub into: Option<String>,

    /// Build a database born on this older Kong release and upgraded to 2.8.5 with 2.8.5's
    /// own `up` and `finish` (1.0.3, 1.5.1, 2.0.5, 2.5.1), as long-lived installations are.
    #[arg(long, value_name = "TAG")]
    pub history_from: Option<String>,

    #[command(flatten)]
    pub throwaway: ThrowawayArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ThrowawayArgs {
    /// Where the throwaway database lives: `local` (a private PostgreSQL started from the
    /// installed server binaries, unix socket only), `local-tcp` (the same, also on
    /// 127.0.0.1), `docker:IMAGE` (needs the `docker` build feature), or a PostgreSQL URL,
    /// on whose server a uniquely named scratch database is created and dropped.
    #[arg(long, default_value = "local")]
    pub target: String,

    /// Directory holding initdb and postgres (else PG_BIN, pg_config --bindir,
    /// /usr/lib/postgresql/*/bin newest first, PATH).
    #[arg(long, env = "PG_BIN")]
    pub pg_bin: Option<PathBuf>,

    /// Unprivileged user to run the local PostgreSQL as when kong-rehearse runs as root.
    #[arg(long, default_value = "postgres")]
    pub pg_user: String,

    /// Leave the throwaway database running at the end and print how to connect to it.
    #[arg(long)]
    pub keep: bool,
}
