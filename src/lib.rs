//! kong-rehearse: rehearse the Kong Gateway 2.8 LTS → 3.4 LTS database upgrade on a
//! throwaway PostgreSQL, and fail loudly on anything out of order, partial or lost.
//!
//! Layers, lowest first: `pg` (PostgreSQL, no Kong), `throwaway` (servers the tool owns),
//! `kong` (Kong's releases, judge, transforms, runners, kong.conf), `preflight` (judging
//! before migrating), `backup` (snapshots and their proof), `rehearsal` (the phases of one
//! run), then `report`/`render` (output) and `commands`/`cli` (wiring).

pub mod backup;
pub mod cli;
pub mod commands;
pub mod error;
pub mod fixture;
pub mod kong;
pub mod pg;
pub mod preflight;
pub mod rehearsal;
pub mod render;
pub mod report;
pub mod throwaway;
