//! Blue-green across two clusters over PostgreSQL's built-in logical replication
//! (docs/CLUSTER_BLUE_GREEN.md). Blue, where the graph lives now, publishes its data
//! schema and a heartbeat row; green, a second cluster with the extension, is migrated
//! first, then subscribes: the initial copy, then blue's writes as they commit. The switch
//! fences blue (40001, so clients retry into green), waits for the last heartbeat on green,
//! moves green's sequences past blue's and makes green the live cluster.
//!
//! Files: `preflight` (what must hold on both), `remote` (dblink), `worker` (blue's
//! worker: sets green up, then beats), `status`, `switch` (the CALL's transactions and
//! abort), `peer` (green's side, called by blue over dblink).
mod peer;
mod preflight;
mod remote;
mod status;
mod switch;
mod worker;

use crate::catalog::MigrationId;
use crate::catalog::{self, ClusterMigration, NewClusterMigration};
use crate::errors::{MeError, MeResult, PgResult};
use crate::spi::jsonb_arg::JsonArg;
use crate::spi::{audit, data_schema, first_value, quietly, quoted_ident};
use migration_engine_core::engine::state::MigrationStatus;
use migration_engine_core::rollout::cluster::{redact_conninfo, ClusterPhase, StartOptions};
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::{json, Value};

pub(crate) fn require_superuser() -> MeResult<()> {
    let is_super = first_value::<bool>(
        "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
        &[],
    )?;
    if is_super != Some(true) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "cluster migrations are run by a superuser",
        )
        .hint("PostgreSQL 15 lets only a superuser create a subscription, and publishing the extension's tables needs their owner: run it as the extension's owner."));
    }
    Ok(())
}

pub(crate) fn another_open(open: Uuid) -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_OBJECT_IN_USE,
        format!("cluster migration {open} is not over on this cluster"),
    )
    .hint("Switch it or abort it first (migration_engine.cluster_migration_status() shows it).")
}

pub(crate) fn fence_reason_receiving(m: &ClusterMigration) -> String {
    format!(
        "it receives cluster migration {} and takes writes after the switch",
        m.id
    )
}

pub(crate) fn fence_reason_moved(m: &ClusterMigration) -> String {
    format!(
        "the graph moved to another cluster ({}) with cluster migration {}",
        m.announce_conninfo, m.id
    )
}

/// pg_notify('schema_switched', ...) on this cluster (delivered when it commits): where
/// clients now connect.
pub(crate) fn notify_switched(m: &ClusterMigration, live: &str) -> MeResult<()> {
    let payload = json!({
        "kind": "cluster",
        "cluster_migration_id": m.id.to_string(),
        "migration": m.migration_name,
        "live_cluster": live,
        "connect": m.announce_conninfo,
        "schema": m.data_schema,
    });
    Spi::run_with_args(
        "SELECT pg_catalog.pg_notify('schema_switched', $1)",
        &[payload.to_string().as_str().into()],
    )?;
    Ok(())
}

/// The names a cluster migration gives its publication, subscription and slot.
fn replication_name(id: Uuid) -> String {
    format!("me_cluster_{}", id.to_string().replace('-', ""))
}

/// Start moving the graph to the cluster `green_conninfo` reaches, migrated by
/// `migration_id` (a PENDING migration of this cluster). Checks both clusters, publishes
/// the data schema and the heartbeat, records the migration and starts blue's worker,
/// which (once this transaction commits) migrates green, subscribes it and beats.
/// Returns {cluster_migration_id, phase, publication, subscription, green, warnings}.
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn start_cluster_migration(
    migration_id: Option<Uuid>,
    green_conninfo: Option<&str>,
    options: default!(Option<JsonArg>, "'{}'::jsonb"),
) -> PgResult<JsonB> {
    crate::required!(migration_id, green_conninfo, options);
    Ok(JsonB(quietly(|| {
        start(MigrationId(migration_id), green_conninfo, &options.0)
    })?))
}

fn start(migration_id: MigrationId, green: &str, options: &Value) -> MeResult<Value> {
    let o = StartOptions::parse(options).map_err(MeError::invalid_parameter)?;
    if green.trim().is_empty() {
        return Err(MeError::invalid_parameter("green_conninfo is empty")
            .hint("Pass a libpq connection string to green's database, e.g. 'host=green dbname=graph user=postgres'."));
    }
    let (name, status, definition) = catalog::stored_migration(migration_id)?.ok_or_else(|| {
        MeError::undefined_object(format!("migration {migration_id} does not exist"))
            .hint("Create it with migration_engine.create_migration(definition) first.")
    })?;
    if status != MigrationStatus::Pending.as_str() {
        return Err(MeError::prerequisite(format!(
            "migration {name:?} is {status}: a cluster migration applies a PENDING one on green"
        )));
    }
    let transform = definition["forward"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["type"] == "TRANSFORM");
    if transform {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("migration {name:?} has TRANSFORM steps, which a cluster migration cannot apply to the rows it replicates yet"),
        )
        .hint("Use execute_blue_green_migration (one database) for content transformations; a cluster migration takes schema steps (added columns, indexes)."));
    }
    if let Some(open) = catalog::open_cluster_migration()? {
        return Err(another_open(open));
    }
    let schema = data_schema()?;
    let mut warnings = preflight::check_blue(&schema)?;
    let blue_columns = preflight::local_columns(&schema)?;
    preflight::check_green(green, &schema, &blue_columns)?;

    let id = catalog::new_uuid();
    let rep = replication_name(id);
    let publisher = match &o.publisher_conninfo {
        Some(p) => p.clone(),
        None => own_conninfo()?,
    };
    // shown to every client (the 40001 message, the notification, pg_trigger's
    // arguments): never with a password, whoever wrote it
    let announce = redact_conninfo(o.announce_conninfo.as_deref().unwrap_or(green));
    let tables = first_value::<Vec<String>>(
        "SELECT array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY c.relname) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r'",
        &[schema.as_str().into()],
    )?
    .unwrap_or_default();
    // the names are the extension's own (quoted_ident checks them all the same)
    Spi::run(&format!(
        "CREATE PUBLICATION {} FOR TABLE {}, migration_engine.cluster_heartbeat",
        quoted_ident("publication", &rep)?,
        tables.join(", ")
    ))?;
    catalog::insert_cluster_migration(&NewClusterMigration {
        id,
        role: "blue",
        migration_name: &name,
        peer_conninfo: green,
        announce_conninfo: &announce,
        publication_name: &rep,
        subscription_name: &rep,
        data_schema: &schema,
        phase: ClusterPhase::Preparing,
        options: &json!({
            "publisherConninfo": publisher,
            "heartbeatInterval": o.heartbeat_interval_ms,
            // as given (checked by the parse above); the worker reads it at each beat
            "autoSwitch": options.get("autoSwitch"),
        }),
    })?;
    catalog::write_heartbeat(id)?;
    let pid = worker::start(id);
    if pid.is_none() {
        warnings.push("no worker could be started now (max_worker_processes, or the session acts as another role): call migration_engine.resume_cluster_migration(id) to start it".into());
    }
    catalog::set_cluster_worker(id, pid)?;
    audit_cluster(
        "cluster_migration_start",
        id,
        json!({"migration": name, "green": redact_conninfo(green), "publication": rep, "tables": tables}),
    )?;
    Ok(json!({
        "cluster_migration_id": id.to_string(),
        "migration": name,
        "phase": ClusterPhase::Preparing.as_str(),
        "publication": rep,
        "subscription": rep,
        "tables": tables,
        "green": redact_conninfo(green),
        "announce": announce,
        "worker_pid": pid,
        "warnings": warnings,
    }))
}

/// How green reaches this cluster when both run on one machine: this server's first
/// socket directory and port, this database, this user.
fn own_conninfo() -> MeResult<String> {
    let v = first_value::<JsonB>(
        "SELECT jsonb_build_object('dir', split_part(current_setting('unix_socket_directories'), ',', 1), \
                'port', current_setting('port'), 'db', current_database(), 'user', current_user)",
        &[],
    )?
    .map(|JsonB(v)| v)
    .unwrap_or_default();
    let q = |s: &Value| {
        let s = s.as_str().unwrap_or_default().trim();
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    };
    Ok(format!(
        "host={} port={} dbname={} user={}",
        q(&v["dir"]),
        q(&v["port"]),
        q(&v["db"]),
        q(&v["user"])
    ))
}

/// Start blue's worker again (after a restart of blue, or when none could be started).
#[pg_extern(volatile)]
#[search_path(migration_engine, pg_catalog, pg_temp)]
fn resume_cluster_migration(cluster_migration_id: Option<Uuid>) -> PgResult<JsonB> {
    crate::required!(cluster_migration_id);
    Ok(JsonB(quietly(|| {
        require_superuser()?;
        let m = catalog::cluster_migration(cluster_migration_id, true)?;
        if m.role != "blue" || m.phase.is_over() || m.phase == ClusterPhase::Failed {
            return Err(MeError::prerequisite(format!(
                "cluster migration {} is {} here (as {}): only blue's, not over nor failed, has a worker",
                m.id,
                m.phase.as_str(),
                m.role
            ))
            .hint("A FAILED one is aborted (abort_cluster_migration) and started again."));
        }
        if worker::running(&m)? {
            return Ok(
                json!({"cluster_migration_id": m.id.to_string(), "worker_pid": m.worker_pid, "started": false}),
            );
        }
        let pid = worker::start(m.id);
        catalog::set_cluster_worker(m.id, pid)?;
        Ok(
            json!({"cluster_migration_id": m.id.to_string(), "worker_pid": pid, "started": pid.is_some()}),
        )
    })?))
}

/// An audit entry of this cluster about cluster migration `id`.
pub(crate) fn audit_cluster(operation: &str, id: Uuid, detail: Value) -> MeResult<()> {
    audit(operation, "cluster_migration", &id.to_string(), detail)
}

/// Raise (`reason`) or lift (None) the fence on the data schema's tables; how many.
pub(crate) fn set_fence(schema: &str, reason: Option<&str>) -> MeResult<i32> {
    Ok(first_value::<i32>(
        "SELECT migration_engine.set_cluster_fence($1, $2)",
        &[schema.into(), reason.into()],
    )?
    .unwrap_or(0))
}
