//! What the tool knows about Kong: its releases' migrations (data under `schemas/`), and how
//! Kong's own runner applies them and keeps `schema_meta`.

pub mod bootstrap;
pub mod inspect;
pub mod lts;
pub mod release;
pub mod schema_meta;
pub mod state;
pub mod transforms;
