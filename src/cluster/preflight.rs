//! What must hold before a cluster migration starts, each failure a clear error naming the
//! fix: on blue (wal_level, free slots and senders, a key on every published table,
//! dblink, superuser), on green (reachable, the same extension version, an empty data
//! schema shaped as blue's, no cluster migration of its own).
use super::remote;
use crate::errors::{MeError, MeResult};
use crate::spi::{first_value, literal};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

fn not_ready(message: String, hint: &str) -> MeError {
    MeError::prerequisite(message).hint(hint)
}

/// The columns of every table of `schema` as {"table.column": "type"}: the same query
/// runs on both clusters, so their answers compare.
pub fn columns_query(schema: &str) -> String {
    format!(
        "SELECT coalesce(jsonb_object_agg(c.relname || '.' || a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)), '{{}}') \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         WHERE n.nspname = {} AND c.relkind = 'r'",
        literal(schema)
    )
}

pub fn local_columns(schema: &str) -> MeResult<Value> {
    Ok(first_value::<JsonB>(&columns_query(schema), &[])?
        .map(|JsonB(v)| v)
        .unwrap_or(json!({})))
}

pub use migration_engine_core::rollout::cluster::missing_on_green;

/// Blue's side. Returns warnings that do not stop the start.
pub fn check_blue(schema: &str) -> MeResult<Vec<String>> {
    super::require_superuser()?;
    let f = first_value::<JsonB>(
        "SELECT jsonb_build_object( \
            'wal_level', current_setting('wal_level'), \
            'slots_free', current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_catalog.pg_replication_slots), \
            'senders_free', current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_catalog.pg_stat_replication), \
            'keep_size', current_setting('max_slot_wal_keep_size'), \
            'unkeyed', (SELECT coalesce(jsonb_agg(c.relname ORDER BY c.relname), '[]') \
                        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                        WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT ( \
                          c.relreplident = 'f' \
                          OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)) \
                          OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))))",
        &[schema.into()],
    )?
    .map(|JsonB(v)| v)
    .unwrap_or_default();
    if f["wal_level"] != "logical" {
        return Err(not_ready(
            format!("wal_level is {} on this cluster: a cluster migration publishes it over logical replication", f["wal_level"]),
            "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (docs/CLUSTER_BLUE_GREEN.md, Set-up).",
        ));
    }
    if f["slots_free"].as_i64().unwrap_or(0) < 1 {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            "no free replication slot on this cluster (max_replication_slots are all taken)",
        )
        .hint("Raise max_replication_slots (a restart), or drop an unused slot (pg_replication_slots)."));
    }
    if f["senders_free"].as_i64().unwrap_or(0) < 1 {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            "no free WAL sender on this cluster (max_wal_senders are all in use)",
        )
        .hint("Raise max_wal_senders (a restart)."));
    }
    if let Some(t) = f["unkeyed"].as_array().filter(|a| !a.is_empty()) {
        return Err(not_ready(
            format!("tables of {schema} have neither a primary key nor a replica identity, so their updates and deletes cannot be replicated: {}",
                t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")),
            "Give each a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL.",
        ));
    }
    remote::dblink_schema()?;
    let mut warnings = vec![];
    if f["keep_size"] == "-1" {
        warnings.push("max_slot_wal_keep_size is unlimited: blue keeps all WAL green has not confirmed; watch the disk while the migration runs (cluster_migration_status shows retained_bytes)".to_string());
    }
    Ok(warnings)
}

/// Green's side, through dblink, before anything is made there: `schema`'s shape on blue
/// is `blue_columns`.
pub fn check_green(green: &str, schema: &str, blue_columns: &Value) -> MeResult<()> {
    let ours = first_value::<String>(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'migration_engine'",
        &[],
    )?
    .unwrap_or_default();
    let (ours_system, ours_database) = {
        let v = first_value::<JsonB>(
            "SELECT jsonb_build_object('system', (SELECT system_identifier::text FROM pg_catalog.pg_control_system()), 'database', current_database()::text)",
            &[],
        )?
        .map(|JsonB(v)| v)
        .unwrap_or_default();
        (v["system"].clone(), v["database"].clone())
    };
    let g = remote::value(
        green,
        &format!(
            "SELECT jsonb_build_object( \
               'version', (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'migration_engine'), \
               'system', (SELECT system_identifier::text FROM pg_catalog.pg_control_system()), \
               'database', current_database()::text, \
               'super', (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), \
               'schema_exists', EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = {s}), \
               'rows', (SELECT sum(c.reltuples) FILTER (WHERE c.reltuples > 0) FROM pg_catalog.pg_class c \
                        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {s} AND c.relkind = 'r'), \
               'columns', ({cols}))",
            s = literal(schema),
            cols = columns_query(schema)
        ),
    )?;
    if g["system"] == ours_system && g["database"] == ours_database {
        return Err(MeError::invalid_parameter(
            "green_conninfo reaches this very database: green must be another cluster (or at least another database)",
        ));
    }
    if g["version"].is_null() {
        return Err(not_ready(
            "migration_engine is not installed in green's database".into(),
            "On green: CREATE EXTENSION migration_engine; (the same version as here), then retry.",
        ));
    }
    if g["version"].as_str() != Some(ours.as_str()) {
        return Err(not_ready(
            format!("green has migration_engine {} and this cluster {ours}: both must run the same version", g["version"]),
            "ALTER EXTENSION migration_engine UPDATE on the older one, then retry.",
        ));
    }
    if g["super"] != true {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "green's conninfo does not log in as a superuser, which creating its subscription needs",
        )
        .hint("Use a superuser in green_conninfo (with a password or a passfile, as dblink requires)."));
    }
    if g["schema_exists"] != true {
        return Err(not_ready(
            format!("green has no data schema {schema}"),
            "Install the extension on green with the same data schema name as here.",
        ));
    }
    // reltuples is an estimate; an exact count of green's tables follows below
    let rows = remote::value(
        green,
        &format!(
            "SELECT (SELECT count(*) FROM {s}.temporal_entities) + (SELECT count(*) FROM {s}.temporal_relations)",
            s = crate::spi::quoted_ident("schema", schema)?
        ),
    )?;
    if rows.as_i64().unwrap_or(0) > 0 || g["rows"].as_f64().unwrap_or(0.0) > 0.0 {
        return Err(not_ready(
            format!("green's data schema {schema} is not empty ({rows} entity and relation versions): the initial copy fills it from blue"),
            "Use a freshly installed green database.",
        ));
    }
    let missing = missing_on_green(blue_columns, &g["columns"]);
    if !missing.is_empty() {
        return Err(not_ready(
            format!("green's data schema is not shaped as blue's: it lacks {}", missing.join(", ")),
            "Apply the migrations blue has had to green first (green must start where blue is), then retry.",
        ));
    }
    Ok(())
}
