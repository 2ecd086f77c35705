//! Judging a Kong 2.8 database or file before anything migrates: data hazards the migration
//! chokes on (`data_hazards`), what migrates but behaves differently on 3.4 (`runtime`),
//! declarative files (`declarative`) and kong.conf (`conf_lint`). Pure judgement over rows
//! and files handed in; the only I/O is the read of rows in `data_hazards`.

pub mod conf_lint;
pub mod data_hazards;
pub mod declarative;
pub mod finding;
pub mod ownership;
pub mod runtime;

pub use finding::{Entity, Finding, Severity};
