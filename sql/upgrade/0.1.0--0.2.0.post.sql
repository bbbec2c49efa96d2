-- migration_engine 0.1.0 -> 0.2.0, written by hand: runs after the generated part.

-- fresh installs only: kg_live's first views (the upgrade defines them below, over the
-- active schema); the refusal of an existing data schema (which an upgrade has, of
-- course) and the renaming of the new one to the name chosen at install (an upgrade
-- keeps the name the graph has, whatever migration_engine.data_schema says now)
-- upgrade: skip ^SELECT migration_engine\.define_live_view\('kg\.
-- upgrade: skip ^DO .*a clear refusal instead of a bare "schema already exists"
-- upgrade: skip ^DO .*the data schema gets the name chosen at install|^DO \$\$ DECLARE wanted text := migration_engine\.data_schema_at_install\(\); replication_role

-- upgrade: handles table migration_engine.canary_metrics
-- observations outside their metric's range were refused by no check in 0.1.0: name them
-- instead of failing on a bare constraint violation
DO $$
DECLARE
    bad bigint := (SELECT count(*) FROM migration_engine.canary_metrics
                   WHERE NOT migration_engine.canary_metric_value_ok(metric, value));
BEGIN
    IF bad > 0 THEN
        RAISE EXCEPTION 'migration_engine 0.2.0: % canary observation(s) are out of their metric''s range', bad
            USING ERRCODE = 'check_violation',
                  HINT = 'Find them with SELECT * FROM migration_engine.canary_metrics WHERE NOT migration_engine.canary_metric_value_ok(metric, value); correct or delete them, then run ALTER EXTENSION migration_engine UPDATE again.';
    END IF;
END
$$;
ALTER TABLE migration_engine.canary_metrics
    ADD CONSTRAINT value_in_metric_range CHECK (migration_engine.canary_metric_value_ok(metric, value));

-- kg_live: the client presentation and the fixed shapes (_v1 is the shape at upgrade),
-- over the schema that is active now, which a blue-green switch may have moved off kg
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = migration_engine.active_schema()::regnamespace AND c.relkind = 'r'
             ORDER BY c.relname LOOP
        PERFORM migration_engine.point_live_view(migration_engine.active_schema(), r.relname);
    END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA kg_live TO migration_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA kg_live TO kg_reader;

-- history protection on the active schema too, when a switch moved the graph off kg (the
-- generated part protects kg, as a fresh install does); and the roles' rights there
DO $$
BEGIN
    IF migration_engine.active_schema() <> 'kg' THEN
        PERFORM migration_engine.protect_history_of(migration_engine.active_schema());
        PERFORM migration_engine.adopt_active_schema();
        EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA %I FROM migration_admin',
                       migration_engine.active_schema());
    END IF;
    REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA kg_live FROM migration_admin;
END
$$;

-- time-ordered ids for new rows (sql/ids.sql; the catalog's tables are altered by the
-- generated part): the graph's tables in every data schema there is (the active one may not be kg after a blue-green switch;
-- a schema a switch retired keeps its rows, and gets the default too)
-- upgrade: handles table migration_engine.knowledge_migrations
-- upgrade: handles table migration_engine.migration_execution_state
-- upgrade: handles table migration_engine.schema_versions
-- upgrade: handles table migration_engine.pipeline_runs
-- upgrade: handles table kg.temporal_entities
-- upgrade: handles table kg.temporal_relations
-- upgrade: skip ^ALTER TABLE kg\.temporal_(entities|relations) ALTER COLUMN
DO $$
DECLARE
    s text;
BEGIN
    FOR s IN SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE migration_engine.is_data_schema(n.nspname) LOOP
        EXECUTE format('ALTER TABLE %I.temporal_entities ALTER COLUMN entity_id SET DEFAULT migration_engine.uuid_v7()', s);
        EXECUTE format('ALTER TABLE %I.temporal_relations ALTER COLUMN relation_id SET DEFAULT migration_engine.uuid_v7()', s);
    END LOOP;
END
$$;
