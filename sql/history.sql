-- History protection: the active data schema's versions are never rewritten or removed
-- by hand, by a migration step or by mistake. Row triggers refuse UPDATE (except closing
-- the current version: valid_to from infinity to a moment, nothing else changed) and
-- DELETE; a statement trigger refuses TRUNCATE. The extension's own in-place writes
-- (patch-mode pipelines, backfills, undo, blue-green replay, purge_history) pass through
-- history_rewrite_allowed(), a backend-local flag that only the extension's Rust code
-- sets around its own statements; no SQL can set it.
-- A superuser can still stand the triggers aside deliberately (session_replication_role
-- = replica, as pg_restore and logical replication do): protection against accidents
-- and against roles below the owner, not against the superuser.
CREATE FUNCTION migration_engine.protect_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.valid_to = 'infinity' AND NEW.valid_to <> 'infinity'
       AND (to_jsonb(NEW) - 'valid_to') = (to_jsonb(OLD) - 'valid_to') THEN
        RETURN NEW; -- closing the current version is how history grows
    END IF;
    RAISE EXCEPTION '% on %.% refused: versions of the knowledge graph are never rewritten or removed',
                    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = 'Only closing the current version (setting its valid_to) is allowed.',
              HINT = 'Write the next version with migration_engine.upsert_entity / delete_entity, or reshape content with a TRANSFORM pipeline; old versions are removed only by migration_engine.purge_history(closed_before), as the extension''s owner.';
END
$$;

-- Puts the protect_history triggers on a data schema's temporal tables (idempotent).
CREATE FUNCTION migration_engine.protect_history_of(schema_name text) RETURNS void
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['temporal_entities', 'temporal_relations'] LOOP
        CONTINUE WHEN to_regclass(format('%I.%I', schema_name, t)) IS NULL;
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = format('%I.%I', schema_name, t)::regclass
                         AND tgname = 'me_protect_history') THEN
            EXECUTE format('CREATE TRIGGER me_protect_history BEFORE UPDATE OR DELETE ON %I.%I FOR EACH ROW '
                           'WHEN (NOT migration_engine.history_rewrite_allowed()) '
                           'EXECUTE FUNCTION migration_engine.protect_history()', schema_name, t);
            EXECUTE format('CREATE TRIGGER me_protect_history_truncate BEFORE TRUNCATE ON %I.%I FOR EACH STATEMENT '
                           'WHEN (NOT migration_engine.history_rewrite_allowed()) '
                           'EXECUTE FUNCTION migration_engine.protect_history()', schema_name, t);
        END IF;
    END LOOP;
END
$$;

SELECT migration_engine.protect_history_of('kg');
REVOKE EXECUTE ON FUNCTION migration_engine.purge_history(timestamptz, text) FROM PUBLIC;
