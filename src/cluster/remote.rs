//! Talking to the other cluster, through PostgreSQL's own client in contrib's dblink (it
//! waits on the connection with the backend's latch, so a cancel or a statement timeout
//! stops it, which a Rust client in the backend would not). Each call opens a connection,
//! runs one statement in its own transaction on the other side, and closes it.
//!
//! The remote statements are built here with the core's quoter for every value; the
//! connection string and the statement are bound as parameters of the local query. The
//! local queries are read-only SPI (`scan_value`): pgrx's read-write SPI gives the
//! transaction an xid, and blue's worker must create green's subscription from a
//! transaction without one (making a logical slot waits for every transaction that has).
use crate::catalog::ClusterMigration;
use crate::errors::{MeError, MeResult};
use crate::spi::{literal, quoted_ident, scan_value};
use migration_engine_core::rollout::cluster::ClusterPhase;
use pgrx::JsonB;
use serde_json::Value;

/// The schema dblink is installed in, quoted; a clear error when it is not installed.
pub fn dblink_schema() -> MeResult<String> {
    let schema = scan_value::<String>(
        "SELECT n.nspname::text FROM pg_catalog.pg_extension e \
         JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink'",
        &[],
    )?;
    let schema = schema.ok_or_else(|| {
        MeError::prerequisite("a cluster migration talks to the other cluster through dblink, which is not installed here")
            .hint("CREATE EXTENSION dblink; (from postgresql-contrib) in this database, then retry.")
    })?;
    quoted_ident("dblink schema", &schema)
}

/// `conninfo` with the other side's search_path pinned for the session (libpq's
/// `options`, which replaces one the conninfo gave): the statements sent run as a
/// superuser there, and must not resolve a function or operator of anyone's schema.
fn pinned(conninfo: &str) -> String {
    const OPTIONS: &str = "-c search_path=pg_catalog,pg_temp";
    let c = conninfo.trim();
    if c.starts_with("postgres://") || c.starts_with("postgresql://") {
        let sep = if c.contains('?') { '&' } else { '?' };
        format!("{c}{sep}options=-c%20search_path%3Dpg_catalog%2Cpg_temp")
    } else {
        format!("{c} options='{OPTIONS}'")
    }
}

/// Run `sql` (one statement, or several separated by `;`, in one transaction) on the
/// cluster `conninfo` reaches.
pub fn exec(conninfo: &str, sql: &str) -> MeResult<()> {
    let dblink = dblink_schema()?;
    scan_value::<String>(
        &format!("SELECT {dblink}.dblink_exec($1, $2, true)"),
        &[pinned(conninfo).as_str().into(), sql.into()],
    )?;
    Ok(())
}

/// The value of `query` (a SQL expression or a one-value SELECT, of any type castable to
/// jsonb) on the cluster `conninfo` reaches, as JSON.
pub fn value(conninfo: &str, query: &str) -> MeResult<Value> {
    let dblink = dblink_schema()?;
    let remote = format!("SELECT to_jsonb(({query}))::text");
    let got = scan_value::<JsonB>(
        &format!("SELECT v::jsonb FROM {dblink}.dblink($1, $2, true) AS t(v text)"),
        &[pinned(conninfo).as_str().into(), remote.as_str().into()],
    )?;
    Ok(got.map(|JsonB(v)| v).unwrap_or(Value::Null))
}

/// The value of `column` in the other cluster's `migration_engine.<table>` row of cluster
/// migration `id` (cluster_migrations' phase, cluster_heartbeat's beat, ...); null when
/// there is no row.
pub fn row_value(conninfo: &str, table: &str, column: &str, id: pgrx::Uuid) -> MeResult<Value> {
    value(
        conninfo,
        &format!(
            "SELECT {} FROM migration_engine.{} WHERE cluster_migration_id = {}",
            quoted_ident("column", column)?,
            quoted_ident("table", table)?,
            crate::spi::literal(id.to_string())
        ),
    )
}

/// Move green's row along (green's own function makes the change there).
pub fn peer_transition(m: &ClusterMigration, to: ClusterPhase) -> MeResult<()> {
    value(
        &m.peer_conninfo,
        &format!(
            "migration_engine.cluster_peer_transition({}, {})",
            literal(m.id.to_string()),
            literal(to.as_str())
        ),
    )?;
    Ok(())
}
