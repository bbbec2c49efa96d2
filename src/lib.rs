//! migration_engine: safe, observable schema evolution for a temporal knowledge graph,
//! inside PostgreSQL. This crate is the thin SPI shell; the logic lives in the pure core
//! crate `migration_engine_core` (directory `core/`).
// pgrx reports errors as `ErrorReport` (large, and not ours to box) at every #[pg_extern].
#![allow(clippy::result_large_err)]
// pgrx needs `RETURNS TABLE` signatures spelled inline (no type aliases), so they are long.
#![allow(clippy::type_complexity)]
use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

mod bluegreen;
mod canary;
mod catalog;
mod cluster;
mod engine;
mod errors;
mod graph;
mod parser;
mod pipeline;
mod runner;
mod safety;
mod schema;
mod spi;
mod steps;
mod timing;

extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);
extension_sql_file!(
    "../sql/kg_store.sql",
    name = "kg_store",
    requires = ["catalog"]
);
extension_sql_file!(
    "../sql/engine_catalog.sql",
    name = "engine_catalog",
    requires = ["catalog"]
);
extension_sql_file!(
    "../sql/engine_procedures.sql",
    name = "engine_procedures",
    requires = [
        "engine_catalog",
        run_migration_begin,
        run_migration_step,
        top_level_start,
        top_level_wait,
        rollback_begin,
        rollback_step
    ]
);
extension_sql_file!(
    "../sql/top_level.sql",
    name = "top_level",
    requires = ["engine_catalog"]
);
extension_sql_file!("../sql/deploy.sql", name = "deploy", requires = ["catalog"]);
extension_sql_file!(
    "../sql/schema_registry.sql",
    name = "schema_registry",
    requires = ["catalog", "kg_store", backfill_batch]
);
extension_sql_file!(
    "../sql/pipelines.sql",
    name = "pipelines",
    requires = ["engine_catalog", pipeline_begin, pipeline_batch]
);
extension_sql_file!(
    "../sql/blue_green.sql",
    name = "blue_green",
    requires = ["catalog", "kg_store"]
);
extension_sql_file!(
    "../sql/canary.sql",
    name = "canary",
    requires = ["catalog", "engine_catalog", canary_metric_value_ok]
);
extension_sql_file!(
    "../sql/history.sql",
    name = "history",
    requires = ["kg_store", history_rewrite_allowed, purge_history]
);
extension_sql_file!(
    "../sql/backup.sql",
    name = "backup",
    requires = [
        "catalog",
        "kg_store",
        "engine_catalog",
        "schema_registry",
        "pipelines",
        "blue_green",
        "canary",
        "history",
        "top_level",
        "deploy"
    ]
);
extension_sql_file!(
    "../sql/ids.sql",
    name = "ids",
    requires = [
        "catalog",
        "kg_store",
        "engine_catalog",
        "pipelines",
        uuid_v7
    ]
);
extension_sql_file!(
    "../sql/cluster.sql",
    name = "cluster",
    requires = ["catalog", "blue_green"]
);
extension_sql_file!("../sql/grants.sql", name = "grants", finalize);

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["max_worker_processes = 16"]
    }
}
