//! Pure core of migration_engine: values in, values out. No SPI, no Postgres.
//! The pgrx shell (the crate at the repository root) reads from the database,
//! calls these functions and writes the results back.

#[macro_use]
mod text_enum;

pub mod engine;
pub mod ident;
pub mod ids;
pub mod jsonb;
pub mod keys;
pub mod pipeline;
pub mod rollout;
pub mod safety;
pub mod schema;
