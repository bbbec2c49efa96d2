-- Blue-green migrations: change capture, retired schemas, and the stable view schema.
--
-- While a blue-green migration copies and migrates the active data schema, writes keep
-- reaching the active schema. Every table of a data schema carries the capture trigger
-- `me_capture_change`; it logs each changed row into change_log so the migration can
-- replay it into the target before the switch. The trigger is "gated": it fires only
-- while a blue-green migration holds the capture fence (an advisory lock, visible to
-- every session at once, unlike a row the migration's open transaction would write).
-- After a switch the new schema's triggers log "always", so that switch_back() can
-- bring the writes made since the switch back to the previous schema.
--
-- The fence: writers take it shared (try-lock, never waiting); the migration takes it
-- exclusive, which waits until every writer that wrote without logging has ended.
-- Advisory keys (classid 1296385 = this extension): objid 1 the capture fence,
-- objid 2 "a blue-green migration is running".

CREATE TABLE migration_engine.change_log (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    operation   "char" NOT NULL CHECK (operation IN ('I', 'U', 'D')),
    row_key     jsonb NOT NULL,
    row_data    jsonb,
    captured_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT row_data_unless_delete CHECK ((operation = 'D') = (row_data IS NULL))
);
COMMENT ON TABLE migration_engine.change_log IS
    'Rows changed in a data schema while a blue-green migration (or a switch-back window) needs them replayed into another schema';
CREATE INDEX change_log_by_schema ON migration_engine.change_log (schema_name, seq);

-- Trigger arguments: the mode ('gated' or 'always'), then the primary-key columns. A gated
-- trigger fires only WHEN the fence is up: the executor evaluates that condition itself,
-- so while no blue-green migration runs, a write pays for one lock-table probe, not for a
-- function call.
CREATE FUNCTION migration_engine.capture_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    doc jsonb;
    old_key jsonb;
    new_key jsonb;
BEGIN
    IF TG_NARGS = 2 THEN
        -- one key column (the common case): plain expressions, no query
        IF TG_OP <> 'INSERT' THEN
            old_key := jsonb_build_object(TG_ARGV[1], to_jsonb(OLD) -> TG_ARGV[1]);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            doc := to_jsonb(NEW);
            new_key := jsonb_build_object(TG_ARGV[1], doc -> TG_ARGV[1]);
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            doc := to_jsonb(OLD);
            SELECT jsonb_object_agg(k, doc -> k) INTO old_key FROM unnest(TG_ARGV[1:TG_NARGS - 1]) k;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            doc := to_jsonb(NEW);
            SELECT jsonb_object_agg(k, doc -> k) INTO new_key FROM unnest(TG_ARGV[1:TG_NARGS - 1]) k;
        END IF;
    END IF;
    -- a key that changes is a delete of the old row and an insert of the new one
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND old_key IS DISTINCT FROM new_key) THEN
        INSERT INTO migration_engine.change_log (schema_name, table_name, operation, row_key)
        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'D', old_key);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO migration_engine.change_log (schema_name, table_name, operation, row_key, row_data)
        VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 'I' ELSE 'U' END, new_key, doc);
    END IF;
    RETURN NULL;
END
$$;

-- On the tables of a schema that is no longer active: a write there would be lost for
-- the readers of the new schema, so it is refused as a retryable error.
CREATE FUNCTION migration_engine.refuse_write_to_retired_schema() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('migration_engine.replaying', true) = 'on' THEN
        RETURN NULL;  -- the extension bringing this schema up to date
    END IF;
    RAISE EXCEPTION 'schema % takes no writes: the active data schema is %',
        TG_TABLE_SCHEMA, TG_ARGV[0]
        USING ERRCODE = 'serialization_failure',
              HINT = 'Retry the transaction: the graph functions and the kg_live views follow the active schema (migration_engine.active_schema()).';
END
$$;

CREATE TRIGGER me_capture_change AFTER INSERT OR UPDATE OR DELETE ON kg.temporal_entities
    FOR EACH ROW WHEN (NOT pg_catalog.pg_try_advisory_xact_lock_shared(1296385, 1))
    EXECUTE FUNCTION migration_engine.capture_change('gated', 'version_id');
CREATE TRIGGER me_capture_change AFTER INSERT OR UPDATE OR DELETE ON kg.temporal_relations
    FOR EACH ROW WHEN (NOT pg_catalog.pg_try_advisory_xact_lock_shared(1296385, 1))
    EXECUTE FUNCTION migration_engine.capture_change('gated', 'version_id');

-- The stable names clients may use instead of following the switch themselves: one view
-- per table of the active data schema, redefined in the switch transaction. Simple views
-- are updatable; security_invoker keeps the caller's own privileges on the tables.
CREATE SCHEMA kg_live;
COMMENT ON SCHEMA kg_live IS 'migration_engine: views over the active data schema, redefined by every schema switch';
CREATE VIEW kg_live.temporal_entities WITH (security_invoker = true) AS SELECT * FROM kg.temporal_entities;
CREATE VIEW kg_live.temporal_relations WITH (security_invoker = true) AS SELECT * FROM kg.temporal_relations;
GRANT USAGE ON SCHEMA kg_live TO PUBLIC;
GRANT ALL ON ALL TABLES IN SCHEMA kg_live TO migration_admin;

-- What a blue-green deployment looks like now.
CREATE VIEW migration_engine.blue_green_status AS
SELECT a."current_schema" AS active_schema,
       a.previous_schema,
       a.switched_at,
       a.migration_in_progress,
       m.migration_name AS last_migration,
       (SELECT count(*) FROM migration_engine.change_log c WHERE c.schema_name = a."current_schema") AS pending_switch_back_changes,
       (a.previous_schema IS NOT NULL AND EXISTS (
           SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = a.previous_schema)) AS can_switch_back
FROM migration_engine.active_schema_version a
LEFT JOIN migration_engine.knowledge_migrations m ON m.migration_id = a.migration_id;
