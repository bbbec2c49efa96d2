//! Copy a data schema to a new one: tables with their data, sequences at their current
//! values (plus headroom), constraints, indexes, foreign keys, user triggers, row-level
//! security policies, views, comments, owners and grants.
//!
//! Definitions are read with the source schema first in search_path, so Postgres
//! prints names of the source unqualified, and replayed with the target first, so
//! the same text builds the copy in the target. No SQL text is rewritten by hand.
use crate::errors::{MeError, MeResult};
use crate::spi::{first_value, quoted_ident, restore_pinned_search_path, set_search_path};
use pgrx::prelude::*;
use serde_json::{json, Map, Value};

/// One table of a data schema.
pub struct TableInfo {
    pub name: String,
    /// primary-key columns, in key order (empty: the table has no primary key)
    pub key: Vec<String>,
    pub has_capture: bool,
}

/// Definitions are printed relative to (and replayed into) `first`.
fn set_path(first: &str) -> MeResult<()> {
    set_search_path(&format!("{}, pg_catalog", quoted_ident("schema", first)?))
}

/// Strings of a one-column query.
fn strings(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> MeResult<Vec<String>> {
    Ok(first_value::<Vec<String>>(
        &format!("SELECT coalesce(array_agg(x), '{{}}') FROM ({sql}) q(x)"),
        args,
    )?
    .unwrap_or_default())
}

/// The ordinary tables of `schema`, oldest first; partitioned tables are refused.
pub fn tables(schema: &str) -> MeResult<Vec<TableInfo>> {
    let partitioned = strings(
        "SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND (c.relkind = 'p' OR c.relispartition)",
        &[schema.into()],
    )?;
    if !partitioned.is_empty() {
        return Err(MeError::new(PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, format!(
            "data schema {schema:?} holds partitioned tables ({}), which blue-green migrations do not copy yet",
            partitioned.join(", ")
        )));
    }
    let rows = first_value::<pgrx::JsonB>(
        "SELECT coalesce(jsonb_agg(jsonb_build_array(c.relname, \
                  (SELECT coalesce(jsonb_agg(a.attname ORDER BY k.ord), '[]') \
                   FROM pg_catalog.pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                   WHERE i.indrelid = c.oid AND i.indisprimary), \
                  EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'me_capture_change')) \
                ORDER BY c.oid), '[]') \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r'",
        &[schema.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(Value::Null);
    Ok(rows
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| TableInfo {
            name: r[0].as_str().unwrap_or_default().to_string(),
            key: r[1]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect(),
            has_capture: r[2].as_bool().unwrap_or(false),
        })
        .collect())
}

/// Columns a row copy writes: not dropped, not generated.
pub fn writable_columns(schema: &str, table: &str) -> MeResult<Vec<String>> {
    strings(
        "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                             WHERE n.nspname = $1 AND c.relname = $2) \
           AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        &[schema.into(), table.into()],
    )
}

/// `"a", "b"` for SQL text; every name is quoted.
pub fn column_list(columns: &[String]) -> MeResult<String> {
    Ok(columns
        .iter()
        .map(|c| quoted_ident("column", c))
        .collect::<MeResult<Vec<_>>>()?
        .join(", "))
}

/// Run every statement that a query generates (one text column).
pub fn run_generated(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> MeResult<()> {
    run_all(&strings(sql, args)?)
}

fn run_all(statements: &[String]) -> MeResult<()> {
    for s in statements {
        Spi::run(s).map_err(|e| MeError::from(e).detail(format!("while running: {s}")))?;
    }
    Ok(())
}

/// Copy `source` into the (new or empty) schema `target`; returns rows copied per table.
pub fn copy_schema(source: &str, target: &str, headroom: i64) -> MeResult<Map<String, Value>> {
    let src = quoted_ident("data schema", source)?;
    let dst = quoted_ident("target schema", target)?;
    Spi::run(&format!("CREATE SCHEMA IF NOT EXISTS {dst}"))?;
    let tables = tables(source)?;
    let mut copied = Map::new();

    // 1. tables and rows; indexes come after the rows (one sort per index, not a
    //    million index insertions)
    for t in &tables {
        let name = quoted_ident("table", &t.name)?;
        Spi::run(&format!(
            "CREATE TABLE {dst}.{name} (LIKE {src}.{name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY \
             INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)"
        ))?;
        let cols = column_list(&writable_columns(source, &t.name)?)?;
        let rows = Spi::connect_mut(|c| {
            c.update(
                &format!("INSERT INTO {dst}.{name} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM {src}.{name}"),
                None,
                &[],
            )
            .map(|r| r.len())
        })?;
        copied.insert(t.name.clone(), json!(rows));
    }

    // 2. definitions printed relative to the source...
    set_path(source)?;
    let keys = strings(
        "SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid)) \
         FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND k.contype IN ('p', 'u', 'x') ORDER BY k.oid",
        &[source.into()],
    )?;
    // pg_get_indexdef and pg_get_triggerdef always qualify the table: that one name
    // (a known prefix / a known " ON schema.table ") is pointed at the target
    let indexes = strings(
        "SELECT CASE WHEN starts_with(x.d, x.p) THEN x.q || substr(x.d, length(x.p) + 1) \
                     ELSE 'cannot copy index ' || quote_ident(ic.relname) END \
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
         JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS d, \
             format('CREATE %sINDEX %I ON %I.%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END, ic.relname, n.nspname, c.relname) AS p, \
             format('CREATE %sINDEX %I ON %I.%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END, ic.relname, $2::text, c.relname) AS q) x \
         WHERE n.nspname = $1 AND c.relkind = 'r' \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) \
         ORDER BY i.indexrelid",
        &[source.into(), target.into()],
    )?;
    if let Some(bad) = indexes.iter().find(|s| s.starts_with("cannot copy")) {
        return Err(MeError::new(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            bad.clone(),
        ));
    }
    let foreign_keys = strings(
        "SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid)) \
         FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND k.contype = 'f' ORDER BY k.oid",
        &[source.into()],
    )?;
    // user triggers; the extension's own (capture, retired) are set by the switch, and
    // history protection by adopt_active_schema when the target becomes active (until
    // then the migration reshapes its copy, versions included)
    let triggers = strings(
        "SELECT overlay(x.d PLACING x.q FROM position(x.p IN x.d) FOR length(x.p)) \
         FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_triggerdef(t.oid) AS d, format(' ON %I.%I ', n.nspname, c.relname) AS p, \
                                    format(' ON %I.%I ', $2::text, c.relname) AS q) x \
         WHERE n.nspname = $1 AND NOT t.tgisinternal AND t.tgname NOT IN ('me_capture_change', 'me_retired_schema', 'me_protect_history', 'me_protect_history_truncate') \
           AND position(x.p IN x.d) > 0 ORDER BY t.oid",
        &[source.into(), target.into()],
    )?;
    let policies = strings(
        "SELECT format('CREATE POLICY %I ON %I AS %s FOR %s TO %s%s%s', p.policyname, p.tablename, p.permissive, p.cmd, \
                (SELECT string_agg(CASE r WHEN 'public' THEN 'PUBLIC' ELSE quote_ident(r) END, ', ') FROM unnest(p.roles) r), \
                ' USING (' || p.qual || ')', ' WITH CHECK (' || p.with_check || ')') \
         FROM pg_catalog.pg_policies p WHERE p.schemaname = $1",
        &[source.into()],
    )?;
    let row_security = strings(
        "SELECT format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', c.relname) || CASE WHEN c.relforcerowsecurity \
                THEN format('; ALTER TABLE %I FORCE ROW LEVEL SECURITY', c.relname) ELSE '' END \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relrowsecurity",
        &[source.into()],
    )?;
    let views = strings(
        "SELECT format('CREATE VIEW %I%s AS %s', c.relname, \
                coalesce(' WITH (' || array_to_string(c.reloptions, ', ') || ')', ''), pg_catalog.pg_get_viewdef(c.oid)) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'v' ORDER BY c.oid",
        &[source.into()],
    )?;
    // ...and replayed relative to the target
    set_path(target)?;
    let built = (|| {
        run_all(&keys)?;
        run_all(&indexes)?;
        run_all(&foreign_keys)?;
        run_all(&triggers)?;
        run_all(&row_security)?;
        run_all(&policies)?;
        run_all(&views)
    })();
    restore_pinned_search_path()?;
    built?;

    copy_sequences(source, target, headroom)?;
    copy_comments_owners_grants(source, target)?;
    for t in &tables {
        Spi::run(&format!(
            "ANALYZE {dst}.{}",
            quoted_ident("table", &t.name)?
        ))?;
    }
    Ok(copied)
}

/// Where each sequence of `target` starts: `{name: value}` (writes to the source must
/// stay below, see check_headroom).
pub fn sequence_starts(target: &str) -> MeResult<Value> {
    Ok(first_value::<pgrx::JsonB>(
        "SELECT coalesce(jsonb_object_agg(sequencename, last_value), '{}') FROM pg_catalog.pg_sequences \
         WHERE schemaname = $1 AND last_value IS NOT NULL",
        &[target.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(Value::Null))
}

/// Sequences: identity sequences (made by LIKE) and standalone or serial sequences
/// (copied here, and serial defaults pointed at the copy) start at the source's value
/// plus `headroom`, so rows the migration creates never take a value that a write to
/// the source, replayed later, carries.
fn copy_sequences(source: &str, target: &str, headroom: i64) -> MeResult<()> {
    // identity columns: LIKE made the target's sequence, at its start
    Spi::run_with_args(
        "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(format('%I.%I', $2::text, c.relname), a.attname), \
                 coalesce(pg_catalog.pg_sequence_last_value(q.seqrelid), q.seqstart) + $3, true) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped \
         JOIN pg_catalog.pg_sequence q \
           ON q.seqrelid = pg_catalog.pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)::regclass \
         WHERE n.nspname = $1 AND c.relkind = 'r'",
        &[source.into(), target.into(), headroom.into()],
    )?;
    // other sequences of the source schema (serial columns, standalone)
    let others = first_value::<pgrx::JsonB>(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('name', s.sequencename, 'type', s.data_type::text, 'start', s.start_value, \
                 'min', s.min_value, 'max', s.max_value, 'inc', s.increment_by, 'cycle', s.cycle, 'cache', s.cache_size, \
                 'value', s.last_value, \
                 'owner_table', (SELECT c.relname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.refobjid \
                                 WHERE d.objid = sc.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1), \
                 'owner_column', (SELECT a.attname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a \
                                  ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                                  WHERE d.objid = sc.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1))), '[]') \
         FROM pg_catalog.pg_sequences s \
         JOIN pg_catalog.pg_namespace sn ON sn.nspname = s.schemaname \
         JOIN pg_catalog.pg_class sc ON sc.relnamespace = sn.oid AND sc.relname = s.sequencename \
         WHERE s.schemaname = $1 \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = sc.oid AND d.deptype = 'i')",
        &[source.into()],
    )?
    .map(|j| j.0)
    .unwrap_or(Value::Null);
    let dst = quoted_ident("target schema", target)?;
    for s in others.as_array().into_iter().flatten() {
        let name = quoted_ident("sequence", s["name"].as_str().unwrap_or_default())?;
        let data_type = match s["type"].as_str() {
            Some("smallint") => "smallint",
            Some("integer") => "integer",
            _ => "bigint",
        };
        Spi::run(&format!(
            "CREATE SEQUENCE {dst}.{name} AS {data_type} INCREMENT {} MINVALUE {} MAXVALUE {} START {} CACHE {} {}",
            s["inc"].as_i64().unwrap_or(1),
            s["min"].as_i64().unwrap_or(1),
            s["max"].as_i64().unwrap_or(i64::MAX),
            s["start"].as_i64().unwrap_or(1),
            s["cache"].as_i64().unwrap_or(1).max(1),
            if s["cycle"].as_bool() == Some(true) { "CYCLE" } else { "NO CYCLE" }
        ))?;
        if let Some(v) = s["value"].as_i64() {
            Spi::run_with_args(
                &format!("SELECT pg_catalog.setval('{dst}.{name}', least($1 + $2, $3))"),
                &[
                    v.into(),
                    headroom.into(),
                    s["max"].as_i64().unwrap_or(i64::MAX).into(),
                ],
            )?;
        }
        if let (Some(table), Some(column)) = (s["owner_table"].as_str(), s["owner_column"].as_str())
        {
            let (table, column) = (
                quoted_ident("table", table)?,
                quoted_ident("column", column)?,
            );
            Spi::run(&format!(
                "ALTER SEQUENCE {dst}.{name} OWNED BY {dst}.{table}.{column}; \
                 ALTER TABLE {dst}.{table} ALTER COLUMN {column} SET DEFAULT pg_catalog.nextval('{dst}.{name}'::regclass)"
            ))?;
        }
    }
    Ok(())
}

/// Table comments, owners (when we may set them) and grants, and the schema's grants.
fn copy_comments_owners_grants(source: &str, target: &str) -> MeResult<()> {
    run_generated(
        "SELECT format('COMMENT ON TABLE %I.%I IS %L', $2::text, c.relname, d.description) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') \
         UNION ALL \
         SELECT format('GRANT %s ON %I.%I TO %s%s', g.privilege_type, $2::text, c.relname, \
                       CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END, \
                       CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) g \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'S') AND g.grantee <> c.relowner \
         UNION ALL \
         SELECT format('GRANT %s ON SCHEMA %I TO %s', g.privilege_type, $2::text, \
                       CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END) \
         FROM pg_catalog.pg_namespace n CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) g \
         WHERE n.nspname = $1 AND g.grantee <> n.nspowner \
         UNION ALL \
         SELECT format('ALTER TABLE %I.%I OWNER TO %I', $2::text, c.relname, pg_catalog.pg_get_userbyid(c.relowner)) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) \
           AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)",
        &[source.into(), target.into()],
    )
}
