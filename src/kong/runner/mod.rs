//! Running the 2.8.5 → 3.4.2 migrations on the throwaway: the built-in runner (SQL from
//! `schemas/` plus Rust ports of Kong's Lua data steps, with Kong's bookkeeping), or a real
//! Kong binary (`kong_cli`).

pub mod builtin;
pub mod kong_cli;
pub mod sql;
