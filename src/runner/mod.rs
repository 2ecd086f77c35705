//! Running the 2.8.5 → 3.4.2 migrations on the throwaway: the built-in runner (SQL from
//! `schemas/` plus Rust ports of Kong's Lua data steps), with Kong's bookkeeping.

pub mod builtin;
pub mod sql;
