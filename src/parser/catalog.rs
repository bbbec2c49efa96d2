//! The catalog facts the parse tree cannot give, looked up for the statement being
//! described. Relation and type names are as the statement spells them, resolved with the
//! caller's search_path (the data schema first); an object that does not exist yet
//! (created earlier in the same script) gives the answer that reports more, not less.
use crate::errors::MeResult;
use crate::spi::{first_row, first_value};

/// A column's current type (`format_type`), `None` if the column is unknown.
pub fn column_type(table: &str, column: &str) -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
        &[table.into(), column.into()],
    )
}

/// A validated `CHECK (column IS NOT NULL)` exists, so SET NOT NULL skips its scan.
pub fn validated_not_null_check(table: &str, column: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT true FROM pg_catalog.pg_constraint c \
         WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.contype = 'c' AND c.convalidated \
           AND pg_catalog.pg_get_constraintdef(c.oid) ~* ('^CHECK \\(\\(?' || pg_catalog.quote_ident($2) || ' IS NOT NULL\\)?\\)$') LIMIT 1",
        &[table.into(), column.into()],
    )?
    .unwrap_or(false))
}

/// The column a CHECK constraint of the table proves non-null, when the constraint is
/// `CHECK (column IS NOT NULL)`.
pub fn not_null_check_column(table: &str, constraint: &str) -> MeResult<Option<String>> {
    first_value::<String>(
        "SELECT a.attname::text FROM pg_catalog.pg_constraint c \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
         WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.conname = $2 AND c.contype = 'c' \
           AND cardinality(c.conkey) = 1 \
           AND pg_catalog.pg_get_constraintdef(c.oid) ~* ('^CHECK \\(\\(?' || pg_catalog.quote_ident(a.attname) || ' IS NOT NULL\\)?\\)')",
        &[table.into(), constraint.into()],
    )
}

/// Whether `pg_cast` converts the column's base type to the new type's base type without a
/// function (`castmethod = 'b'`), or they are the same type. `None` when either type is
/// unknown.
pub fn binary_coercible(table: &str, column: &str, new_type: &str) -> MeResult<Option<bool>> {
    first_value::<bool>(
        "WITH old AS (SELECT coalesce(nullif(t.typbasetype, 0), t.oid) AS base \
                      FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                      WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped), \
              new AS (SELECT coalesce(nullif(t.typbasetype, 0), t.oid) AS base \
                      FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.to_regtype($3)) \
         SELECT old.base = new.base OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c \
                WHERE c.castsource = old.base AND c.casttarget = new.base AND c.castmethod = 'b') \
         FROM old, new",
        &[table.into(), column.into(), new_type.into()],
    )
}

/// The type is a domain with a CHECK constraint (its own or a base domain's).
pub fn domain_has_check(type_name: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "WITH RECURSIVE d AS (SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t \
                              WHERE t.oid = pg_catalog.to_regtype($1) AND t.typtype = 'd' \
                              UNION ALL \
                              SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t JOIN d ON t.oid = d.typbasetype \
                              WHERE t.typtype = 'd') \
         SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c JOIN d ON c.contypid = d.oid WHERE c.contype = 'c')",
        &[type_name.into()],
    )?
    .unwrap_or(false))
}

/// What a type change of `column` re-checks or rebuilds even without a rewrite: the table's
/// CHECK constraints on the column, its indexes whose operator family does not carry over
/// to the new type (PostgreSQL reuses an index when the new type's default operator class
/// is in the same family, as for varchar -> text), and expression indexes over the column
/// (always rebuilt).
pub fn revalidated_by_type_change(
    table: &str,
    column: &str,
    new_type: &str,
) -> MeResult<Vec<String>> {
    Ok(first_value::<Vec<String>>(
        "WITH new AS (SELECT coalesce(nullif(t.typbasetype, 0), t.oid) AS base \
                      FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.to_regtype($3)) \
         SELECT coalesce(array_agg(what ORDER BY what), '{}') FROM ( \
           SELECT 'CHECK constraint ' || c.conname AS what \
           FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_attribute a \
             ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
           WHERE c.conrelid = pg_catalog.to_regclass($1) AND c.contype = 'c' AND a.attname = $2 \
           UNION \
           SELECT 'index ' || i.indexrelid::pg_catalog.regclass::text \
           FROM pg_catalog.pg_index i \
           CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[]) AS k(attnum, opclass) \
           JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
           JOIN pg_catalog.pg_opclass cur ON cur.oid = k.opclass \
           WHERE i.indrelid = pg_catalog.to_regclass($1) AND a.attname = $2 \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_opclass oc, new \
                             WHERE oc.opcmethod = cur.opcmethod AND oc.opcdefault AND oc.opcfamily = cur.opcfamily \
                               AND (oc.opcintype = new.base OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c \
                                    WHERE c.castsource = new.base AND c.casttarget = oc.opcintype AND c.castmethod = 'b'))) \
           UNION \
           SELECT 'index ' || d.objid::pg_catalog.regclass::text \
           FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a \
             ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
           JOIN pg_catalog.pg_index i ON i.indexrelid = d.objid AND 0 = ANY (i.indkey) \
           WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = pg_catalog.to_regclass($1) \
             AND a.attname = $2 \
         ) w",
        &[table.into(), column.into(), new_type.into()],
    )?
    .unwrap_or_default())
}

/// The table is partitioned (`relkind = 'p'`).
pub fn is_partitioned(table: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT c.relkind = 'p' FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
        &[table.into()],
    )?
    .unwrap_or(false))
}

/// (relpersistence, access method name) of an existing table: `('p', 'heap')`.
pub fn table_storage(table: &str) -> MeResult<Option<(String, String)>> {
    first_row(
        "SELECT c.relpersistence::text, coalesce(a.amname::text, '') FROM pg_catalog.pg_class c \
         LEFT JOIN pg_catalog.pg_am a ON a.oid = c.relam WHERE c.oid = pg_catalog.to_regclass($1)",
        &[table.into()],
        |row| {
            Ok((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<String>(2)?.unwrap_or_default(),
            ))
        },
    )
}

/// The partitioned table has a DEFAULT partition.
pub fn has_default_partition(table: &str) -> MeResult<bool> {
    Ok(first_value::<bool>(
        "SELECT p.partdefid <> 0 FROM pg_catalog.pg_partitioned_table p \
         WHERE p.partrelid = pg_catalog.to_regclass($1)",
        &[table.into()],
    )?
    .unwrap_or(false))
}

/// A valid, non-partial index of the table has `columns` as its leading key columns.
pub fn has_index_starting_with(table: &str, columns: &[String]) -> MeResult<bool> {
    if columns.is_empty() {
        return Ok(false);
    }
    Ok(first_value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
                        WHERE i.indrelid = pg_catalog.to_regclass($1) AND i.indisvalid AND i.indpred IS NULL \
                          AND i.indnkeyatts >= cardinality($2::text[]) \
                          AND (SELECT bool_and(pg_catalog.pg_get_indexdef(i.indexrelid, k, false) = pg_catalog.quote_ident(($2::text[])[k])) \
                               FROM generate_series(1, cardinality($2::text[])) k))",
        &[table.into(), columns.to_vec().into()],
    )?
    .unwrap_or(false))
}

/// The columns of an index that are nullable now (PRIMARY KEY USING INDEX sets NOT NULL on
/// them). PostgreSQL looks the index name up in the table's schema, not the search path.
pub fn nullable_index_columns(table: &str, index: &str) -> MeResult<Vec<String>> {
    Ok(first_value::<Vec<String>>(
        "SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}') \
         FROM pg_catalog.pg_class t \
         JOIN pg_catalog.pg_class ic ON ic.relnamespace = t.relnamespace AND ic.relname = $2 \
         JOIN pg_catalog.pg_index i ON i.indexrelid = ic.oid AND i.indrelid = t.oid \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
         WHERE t.oid = pg_catalog.to_regclass($1) AND NOT a.attnotnull",
        &[table.into(), index.into()],
    )?
    .unwrap_or_default())
}

/// `Some(true)` if a function of this name is VOLATILE in `pg_proc` (any overload), `None`
/// if no function has the name.
pub fn function_is_volatile(name: &str) -> MeResult<Option<bool>> {
    first_value::<bool>(
        "SELECT bool_or(provolatile = 'v') FROM pg_catalog.pg_proc WHERE proname = $1",
        &[name.into()],
    )
}
