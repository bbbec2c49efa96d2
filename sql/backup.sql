-- Backups: pg_dump keeps everything of the user's that the extension holds, and a
-- restored database takes writes at once (issue 12). Extension member tables are dumped
-- empty unless marked here, and member sequences restart at 1 unless marked: a restored
-- graph then refused its first write (duplicate version_id).
DO $$
DECLARE
    seq regclass;
BEGIN
    -- every sequence of the extension: the graph's version ids, audit ids, run ids...
    FOR seq IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                    AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
               WHERE c.relkind = 'S' ORDER BY 1
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(seq, '');
    END LOOP;
END
$$;
-- catalog tables whose rows are the user's (the others are marked where they are made)
SELECT pg_catalog.pg_extension_config_dump('migration_engine.canary_rollouts', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.canary_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.canary_rollout_history', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.change_log', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.throughput_stats', '');

-- The two singletons (the active data schema, the registry's compatibility mode) are
-- made by CREATE EXTENSION and changed later; a restore copies the dumped row over the
-- one CREATE EXTENSION made: an INSERT of a row whose id exists becomes an UPDATE of it,
-- for a superuser (pg_restore runs as one). Anyone else gets the duplicate key as before.
CREATE FUNCTION migration_engine.restore_singleton() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    cols text;
    exists_already boolean;
    t text;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I WHERE id = $1)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        INTO exists_already USING NEW.id;
    IF NOT exists_already OR NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NEW;
    END IF;
    SELECT string_agg(format('%I = ($1).%I', attname, attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped AND attname <> 'id';
    -- the switch triggers see a restore, not a switch (see adopt_active_schema)
    PERFORM set_config('migration_engine.restoring', 'on', true);
    EXECUTE format('UPDATE %I.%I SET %s WHERE id = ($1).id', TG_TABLE_SCHEMA, TG_TABLE_NAME, cols) USING NEW;
    PERFORM set_config('migration_engine.restoring', '', true);
    -- The retired schema keeps refusing writes. A schema of the user's brings its trigger
    -- with the dump; kg's tables belong to the extension and their triggers are not
    -- dumped, so it is retired again here (its rows are restored before the catalog's).
    IF TG_TABLE_NAME <> 'active_schema_version' THEN
        RETURN NULL;
    END IF;
    IF NEW.previous_schema IS NOT NULL AND NEW.previous_schema IS DISTINCT FROM NEW."current_schema" THEN
        FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = NEW.previous_schema AND c.relkind = 'r'
                   AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                 AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
        LOOP
            PERFORM set_extension_trigger(NEW.previous_schema, t, 'retire', NEW."current_schema", '{}'::text[]);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER active_schema_version_restore
    BEFORE INSERT ON migration_engine.active_schema_version
    FOR EACH ROW EXECUTE FUNCTION migration_engine.restore_singleton();
CREATE TRIGGER registry_settings_restore
    BEFORE INSERT ON migration_engine.registry_settings
    FOR EACH ROW EXECUTE FUNCTION migration_engine.restore_singleton();
SELECT pg_catalog.pg_extension_config_dump('migration_engine.active_schema_version', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.registry_settings', '');
