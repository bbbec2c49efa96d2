//! Green's side of a cluster migration: the functions blue calls on green over dblink.
//! Green keeps its own row of the migration (role 'green') and changes its own catalog
//! and data schema only through these, so that each cluster's record is written by the
//! cluster itself.
use super::{fence_reason_receiving, notify_switched, require_superuser};
use crate::catalog::{self, ClusterMigration, NewClusterMigration};
use crate::errors::{MeError, MeResult, PgResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{first_value, literal, quoted_ident};
use migration_engine_core::rollout::cluster::ClusterPhase;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

/// On green: record the cluster migration `cluster_migration_id` that blue starts, and
/// create its migration here (its dependencies are blue's: green starts where blue is, as
/// the preflight checked). Returns the migration's name.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cluster_peer_begin(
    cluster_migration_id: Option<Uuid>,
    definition: Option<JsonArg>,
    publisher_conninfo: Option<&str>,
    announce_conninfo: Option<&str>,
    publication_name: Option<&str>,
    subscription_name: Option<&str>,
    data_schema: Option<&str>,
) -> PgResult<String> {
    crate::required!(
        cluster_migration_id,
        definition,
        publisher_conninfo,
        announce_conninfo,
        publication_name,
        subscription_name,
        data_schema
    );
    require_superuser()?;
    if let Some(m) = catalog::load_cluster_migration(cluster_migration_id, false)? {
        return Ok(m.migration_name); // begun already: a worker started again goes on
    }
    if let Some(open) = catalog::open_cluster_migration()? {
        return Err(super::another_open(open).into());
    }
    let mut def = definition.0;
    let name = def["name"].as_str().unwrap_or_default().to_string();
    if let Some(o) = def.as_object_mut() {
        o.remove("dependsOn");
    }
    first_value::<Uuid>(
        "SELECT migration_engine.create_migration($1)",
        &[JsonB(def).into()],
    )?;
    catalog::insert_cluster_migration(&NewClusterMigration {
        id: cluster_migration_id,
        role: "green",
        migration_name: &name,
        peer_conninfo: publisher_conninfo,
        announce_conninfo,
        publication_name,
        subscription_name,
        data_schema,
        phase: ClusterPhase::Preparing,
        options: &json!({}),
    })?;
    super::audit_cluster(
        "cluster_migration_receive",
        cluster_migration_id,
        json!({"migration": name, "publisher": migration_engine_core::rollout::cluster::redact_conninfo(publisher_conninfo)}),
    )?;
    Ok(name)
}

/// On green: move green's row to `phase`, with what goes with it. COPYING raises green's
/// fence (green receives; a local write would fork the graph), SWITCHED sets green's
/// sequences past blue's (`detail.sequences`), lifts the fence and tells green's clients,
/// ABORTED lifts the fence, FAILED keeps `detail.error`.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn cluster_peer_transition(
    cluster_migration_id: Option<Uuid>,
    phase: Option<&str>,
    detail: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(cluster_migration_id, phase, detail);
    require_superuser()?;
    let to = ClusterPhase::parse(phase).ok_or_else(|| {
        MeError::invalid_parameter(format!("unknown cluster migration phase {phase:?}"))
    })?;
    let m = catalog::cluster_migration(cluster_migration_id, true)?;
    if m.role != "green" {
        return Err(MeError::prerequisite(format!(
            "cluster migration {cluster_migration_id} is this cluster's as blue, not green"
        ))
        .into());
    }
    if m.phase == to {
        return Ok(JsonB(json!({"phase": to.as_str(), "changed": false})));
    }
    let detail = detail.0;
    let effect = apply(&m, to, &detail)?;
    catalog::transition_cluster_migration(&m, to, detail["error"].as_str())?;
    super::audit_cluster(
        "cluster_migration_phase",
        m.id,
        json!({"role": "green", "from": m.phase.as_str(), "to": to.as_str(), "effect": effect}),
    )?;
    Ok(JsonB(
        json!({"phase": to.as_str(), "changed": true, "effect": effect}),
    ))
}

fn apply(m: &ClusterMigration, to: ClusterPhase, detail: &Value) -> MeResult<Value> {
    Ok(match to {
        ClusterPhase::Copying => {
            let tables = super::set_fence(&m.data_schema, Some(&fence_reason_receiving(m)))?;
            json!({"fenced_tables": tables})
        }
        ClusterPhase::Switched => {
            let moved = set_sequences(detail["sequences"].as_array().cloned().unwrap_or_default())?;
            let tables = super::set_fence(&m.data_schema, None)?;
            notify_switched(m, "green")?;
            json!({"sequences_moved": moved, "unfenced_tables": tables})
        }
        ClusterPhase::Aborted => {
            json!({"unfenced_tables": super::set_fence(&m.data_schema, None)?})
        }
        _ => json!({}),
    })
}

/// setval each [{schema, name, value}] here to at least `value`: every sequence,
/// owned or not, so that a new row on green never takes a value blue gave out.
fn set_sequences(sequences: Vec<Value>) -> MeResult<i64> {
    let mut moved = 0;
    for s in sequences {
        let (Some(schema), Some(name), Some(value)) = (
            s["schema"].as_str(),
            s["name"].as_str(),
            s["value"].as_i64(),
        ) else {
            continue;
        };
        let seq = format!(
            "{}.{}",
            quoted_ident("schema", schema)?,
            quoted_ident("sequence", name)?
        );
        let exists = first_value::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_sequences WHERE schemaname = $1 AND sequencename = $2)",
            &[schema.into(), name.into()],
        )?;
        if exists != Some(true) {
            continue;
        }
        Spi::run(&format!(
            "SELECT pg_catalog.setval({}, greatest({value}, coalesce((SELECT last_value FROM pg_catalog.pg_sequences \
             WHERE schemaname = {} AND sequencename = {}), {value})), true)",
            literal(&seq),
            literal(schema),
            literal(name)
        ))?;
        moved += 1;
    }
    Ok(moved)
}
