-- Schema registry settings, field backfill jobs, and the deprecated-fields view.

-- One row: the compatibility mode new schema versions must respect (Confluent-style).
CREATE TABLE migration_engine.registry_settings (
    id                 integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    compatibility_mode text NOT NULL DEFAULT 'BACKWARD' CHECK (compatibility_mode IN
        ('NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE')),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    updated_by         text NOT NULL DEFAULT current_user
);
INSERT INTO migration_engine.registry_settings DEFAULT VALUES;

-- A backfill of a field's default into the current versions of one entity type. The
-- keyset position is committed with every batch, so an interrupted backfill resumes
-- where it stopped.
CREATE TABLE migration_engine.field_backfills (
    backfill_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id  uuid REFERENCES migration_engine.knowledge_migrations(migration_id) ON DELETE CASCADE,
    data_schema   text NOT NULL,
    entity_type   text NOT NULL,
    field_name    text NOT NULL,
    default_value jsonb NOT NULL,
    last_entity_id uuid,
    rows_scanned  bigint NOT NULL DEFAULT 0,
    rows_updated  bigint NOT NULL DEFAULT 0,
    batches       integer NOT NULL DEFAULT 0,
    longest_batch_ms double precision NOT NULL DEFAULT 0,
    batch_size    integer NOT NULL DEFAULT 2000,
    status        text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
SELECT pg_catalog.pg_extension_config_dump('migration_engine.field_backfills', '');

-- Deprecated fields of the active schema version, with how many current entities still
-- use each (in the active data schema).
CREATE FUNCTION migration_engine.deprecated_field_usage(entity_type text, field_name text) RETURNS bigint
LANGUAGE plpgsql STABLE STRICT SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I.temporal_entities WHERE entity_type = $1 AND valid_to = ''infinity'' '
                   'AND NOT is_deleted AND content ? $2',
                   (SELECT "current_schema" FROM migration_engine.active_schema_version WHERE id = 1))
        INTO n USING entity_type, field_name;
    RETURN n;
END
$$;

CREATE VIEW migration_engine.deprecated_fields AS
SELECT v.version_number,
       e.key AS entity_type,
       f.key AS field_name,
       f.value ->> 'deprecation_message' AS deprecation_message,
       f.value ->> 'removal_version' AS removal_version,
       (f.value ->> 'deprecated_at')::timestamptz AS deprecated_at,
       migration_engine.deprecated_field_usage(e.key, f.key) AS entities_using
FROM migration_engine.schema_versions v,
     jsonb_each(v.schema_definition -> 'entities') e,
     jsonb_each(e.value -> 'fields') f
WHERE v.is_active AND (f.value ->> 'deprecated')::boolean IS TRUE;
GRANT SELECT ON migration_engine.deprecated_fields TO PUBLIC;

-- CALL migration_engine.run_backfill(backfill_id): the committing form of a backfill
-- (add_field_backward_compatible(..., backfill => 'deferred') returns the id). No SET
-- clause: a procedure with one cannot COMMIT.
CREATE PROCEDURE migration_engine.run_backfill(backfill_id bigint, batch_size integer DEFAULT 0)
LANGUAGE plpgsql
AS $$
DECLARE
    state jsonb;
BEGIN
    LOOP
        state := migration_engine.backfill_batch(backfill_id, batch_size);
        COMMIT;
        EXIT WHEN (state ->> 'finished')::boolean;
    END LOOP;
    RAISE NOTICE 'backfill %: % rows updated in % batches (longest % ms)', backfill_id,
        state ->> 'rows_updated', state ->> 'batches', round((state ->> 'longest_batch_ms')::numeric, 1);
END
$$;
REVOKE EXECUTE ON PROCEDURE migration_engine.run_backfill(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE migration_engine.run_backfill(bigint, integer) TO migration_admin;
