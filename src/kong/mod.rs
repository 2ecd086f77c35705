//! What the tool knows about Kong: its releases' migrations (data under `schemas/`), the
//! state judge, the Rust ports of Kong's Lua data steps, the runners that apply migrations
//! with Kong's `schema_meta` bookkeeping, and kong.conf as Kong reads it. Nothing here
//! renders reports or spawns PostgreSQL's client programs (that is `pg::programs`).

pub mod bootstrap;
pub mod conf;
pub mod history;
pub mod inspect;
pub mod lts;
pub mod plugins;
pub mod release;
pub mod runner;
pub mod schema_meta;
pub mod state;
pub mod transforms;
