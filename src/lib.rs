//! kong-rehearse: rehearse the Kong Gateway 2.8 LTS → 3.4 LTS database upgrade on a
//! throwaway PostgreSQL, and fail loudly on anything out of order, partial or lost.

pub mod backup;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod conn;
pub mod declarative;
pub mod error;
pub mod fixture;
pub mod hazards;
pub mod integrity;
pub mod kong;
pub mod kong_conf;
pub mod manifest;
pub mod rehearsal;
pub mod render;
pub mod report;
pub mod rollback;
pub mod runner;
pub mod runtime_hazards;
pub mod snapshot;
pub mod throwaway;
pub mod verify;
