//! migration_plan and migration_graph: the catalog read into the core's planner and
//! renderer.
use crate::errors::MeError;
use migration_engine_core::engine::graph::{render_graph, GraphFormat, GraphNode};
use migration_engine_core::engine::planner::{plan, PlanError, PlanNode};
use migration_engine_core::engine::state::MigrationStatus;
use pgrx::prelude::*;

use crate::errors::PgResult;

pub fn plan_error(e: PlanError) -> MeError {
    let code = match e {
        PlanError::Cycle { .. } => PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
        PlanError::UnknownDependency { .. } | PlanError::UnknownMigration { .. } => {
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT
        }
        _ => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
    };
    MeError::new(code, format!("cannot plan migrations: {e}")).detail(format!("code {}", e.code()))
}

/// Pending migrations in execution order: dependencies first, then priority (lower
/// first), then name.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn migration_plan() -> Result<
    TableIterator<
        'static,
        (
            name!(execution_order, i32),
            name!(migration_name, String),
            name!(version, String),
            name!(priority, i32),
            name!(status, String),
            name!(depends_on, Vec<String>),
        ),
    >,
    pgrx::pg_sys::panic::ErrorReport,
> {
    let nodes = crate::catalog::plan_nodes_with_versions()?;
    let plain: Vec<PlanNode> = nodes.iter().map(|(n, _)| n.clone()).collect();
    let order = plan(&plain).map_err(plan_error)?;
    let rows: Vec<_> = order
        .into_iter()
        .enumerate()
        .map(|(pos, i)| {
            let (n, version) = &nodes[i];
            (
                pos as i32 + 1,
                n.name.clone(),
                version.clone(),
                n.priority,
                n.status.clone(),
                n.depends_on.clone(),
            )
        })
        .collect();
    Ok(TableIterator::new(rows))
}

/// The dependency graph with each migration's status, as Mermaid (default) or DOT.
#[pg_extern(stable)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn migration_graph(format: default!(&str, "'mermaid'")) -> PgResult<String> {
    let format = GraphFormat::parse(format).map_err(|e| {
        MeError::invalid_parameter(format!("{e}")).hint("Use 'mermaid' or 'dot' (also 'graphviz').")
    })?;
    let nodes: Vec<GraphNode> = crate::catalog::plan_nodes_with_versions()?
        .into_iter()
        .map(|(n, _)| GraphNode {
            status: MigrationStatus::parse(&n.status).unwrap_or(MigrationStatus::Pending),
            name: n.name,
            depends_on: n.depends_on,
        })
        .collect();
    Ok(render_graph(&nodes, format))
}
