-- migration_engine catalog: reviewed DDL, loaded first by CREATE EXTENSION (bootstrap).
-- Everything here lives in the extension's own schema, migration_engine.

-- The role that may run migrations. Cluster-wide, so it survives DROP EXTENSION;
-- created only if missing so that a second database can install the extension too.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'migration_admin') THEN
        CREATE ROLE migration_admin NOLOGIN;
    END IF;
    -- who may record canary observations (they steer a rollout) without running migrations
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'canary_metrics_writer') THEN
        CREATE ROLE canary_metrics_writer NOLOGIN;
    END IF;
    -- the graph's users: readers of the active data schema (and kg_live), and writers
    -- through the graph functions (upsert_entity, delete_entity, ...); see docs/SECURITY.md
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'kg_reader') THEN
        CREATE ROLE kg_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'kg_writer') THEN
        CREATE ROLE kg_writer NOLOGIN IN ROLE kg_reader;
    END IF;
END
$$;

-- Plain SQL identifiers: what the extension accepts for entity types, field names and
-- data-schema names. Anything else (quotes, dots, spaces, SQL) is refused before use.
CREATE DOMAIN migration_engine.plain_identifier AS text
    CHECK (VALUE ~ '^[A-Za-z_][A-Za-z0-9_]*$' AND octet_length(VALUE) <= 63);

CREATE TABLE migration_engine.knowledge_migrations (
    migration_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    migration_name    text UNIQUE NOT NULL,
    version           text NOT NULL,
    description       text,
    migration_type    text DEFAULT 'SCHEMA',

    status            text DEFAULT 'PENDING',
    started_at        timestamptz,
    completed_at      timestamptz,

    forward_script    text NOT NULL,
    rollback_script   text,
    validation_script text,

    depends_on        uuid[] DEFAULT '{}',
    priority          integer DEFAULT 100,

    -- a role name (current_user), not a reference to a hosted auth schema
    executed_by       text DEFAULT current_user,
    execution_log     jsonb DEFAULT '[]'::jsonb,

    created_at        timestamptz DEFAULT now(),
    metadata          jsonb DEFAULT '{}'::jsonb,

    -- beyond the seed: the whole definition and its checksum (Flyway/sqitch style),
    -- and what is needed to detect a RUNNING migration whose backend died
    definition        jsonb,
    checksum          text,
    created_by        text DEFAULT current_user,
    backend_pid       integer,
    backend_start     timestamptz,
    last_error        text,
    control_request   text,

    CONSTRAINT valid_status CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'ROLLED_BACK')),
    CONSTRAINT valid_migration_type CHECK (migration_type IN ('SCHEMA', 'DATA', 'HYBRID')),
    CONSTRAINT valid_control_request CHECK (control_request IN ('PAUSE', 'CANCEL')),
    CONSTRAINT execution_log_is_array CHECK (jsonb_typeof(execution_log) = 'array'),
    CONSTRAINT metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT migration_name_not_blank CHECK (btrim(migration_name) <> '')
);

CREATE TABLE migration_engine.migration_execution_state (
    execution_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    migration_id           uuid REFERENCES migration_engine.knowledge_migrations(migration_id) ON DELETE CASCADE,
    -- Not a foreign key: temporal_entities holds one row per version of an entity, and
    -- the data schema it lives in is switched by blue-green migrations.
    entity_id              uuid,

    step_number            integer NOT NULL,
    step_name              text NOT NULL,
    step_status            text DEFAULT 'PENDING',

    old_value              jsonb,
    new_value              jsonb,
    transformation_applied text,

    started_at             timestamptz DEFAULT now(),
    completed_at           timestamptz,

    error_message          text,
    retry_count            integer DEFAULT 0,

    -- beyond the seed: which run of the migration, which direction, which kind of step
    run_id                 uuid,
    direction              text DEFAULT 'forward',
    step_type              text,

    CONSTRAINT valid_step_status CHECK (step_status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED')),
    CONSTRAINT valid_direction CHECK (direction IN ('forward', 'rollback', 'validation', 'canary', 'pipeline')),
    CONSTRAINT retry_count_not_negative CHECK (retry_count >= 0)
);
CREATE INDEX migration_execution_state_migration_idx
    ON migration_engine.migration_execution_state (migration_id, run_id, step_number);

CREATE TABLE migration_engine.schema_versions (
    version_id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_number           text UNIQUE NOT NULL,
    schema_definition        jsonb NOT NULL,
    is_active                boolean DEFAULT false,
    created_at               timestamptz DEFAULT now(),
    created_by               text DEFAULT current_user,

    backward_compatible_with text[],
    forward_compatible_with  text[],
    breaking_changes         jsonb DEFAULT '[]'::jsonb,

    description              text,
    changelog                text,
    activated_at             timestamptz,

    -- at most one active version, enforced by the database (the seed's constraint)
    CONSTRAINT single_active_schema EXCLUDE (is_active WITH =) WHERE (is_active = true),
    CONSTRAINT schema_definition_is_object CHECK (jsonb_typeof(schema_definition) = 'object'),
    CONSTRAINT breaking_changes_is_array CHECK (jsonb_typeof(breaking_changes) = 'array')
);

-- ... and at least one once any exists: checked at commit, so that activating another
-- version inside one transaction (deactivate, then activate) is allowed.
CREATE FUNCTION migration_engine.check_one_active_schema_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM migration_engine.schema_versions)
       AND (SELECT count(*) FROM migration_engine.schema_versions WHERE is_active) <> 1 THEN
        RAISE EXCEPTION 'exactly one schema version must be active'
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Activate a version with migration_engine.activate_schema_version(version_number).';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER exactly_one_active_schema_version
    AFTER INSERT OR UPDATE OR DELETE ON migration_engine.schema_versions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION migration_engine.check_one_active_schema_version();

-- Registered versions are immutable: only the activation flag may change.
CREATE FUNCTION migration_engine.forbid_schema_version_edit() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.version_number IS DISTINCT FROM OLD.version_number
       OR NEW.schema_definition IS DISTINCT FROM OLD.schema_definition
       OR NEW.breaking_changes IS DISTINCT FROM OLD.breaking_changes THEN
        RAISE EXCEPTION 'schema version % is immutable once registered', OLD.version_number
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Register a new version with migration_engine.register_schema_version().';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER schema_versions_immutable
    BEFORE UPDATE ON migration_engine.schema_versions
    FOR EACH ROW EXECUTE FUNCTION migration_engine.forbid_schema_version_edit();

-- A migration is immutable once created: what it is (name, definition, checksum, scripts,
-- dependencies) and who made it when. Only its run state may change, and its execution
-- log only grows. The engine's functions never do otherwise; this holds the same for a
-- direct UPDATE by a migration_admin member (who may update the run state columns).
CREATE FUNCTION migration_engine.forbid_migration_edit() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    IF (NEW.migration_id, NEW.migration_name, NEW.version, NEW.description, NEW.migration_type,
        NEW.forward_script, NEW.rollback_script, NEW.validation_script, NEW.depends_on,
        NEW.priority, NEW.metadata, NEW.definition, NEW.checksum, NEW.created_at, NEW.created_by)
       IS DISTINCT FROM
       (OLD.migration_id, OLD.migration_name, OLD.version, OLD.description, OLD.migration_type,
        OLD.forward_script, OLD.rollback_script, OLD.validation_script, OLD.depends_on,
        OLD.priority, OLD.metadata, OLD.definition, OLD.checksum, OLD.created_at, OLD.created_by) THEN
        RAISE EXCEPTION 'migration % is immutable once created: only its run state may change', OLD.migration_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Create a new migration (a new name, depending on this one) with migration_engine.create_migration(definition).';
    END IF;
    IF NEW.execution_log IS DISTINCT FROM OLD.execution_log
       AND (SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb)
            FROM jsonb_array_elements(NEW.execution_log) WITH ORDINALITY AS x(e, i)
            WHERE i <= jsonb_array_length(OLD.execution_log)) IS DISTINCT FROM OLD.execution_log THEN
        RAISE EXCEPTION 'the execution log of migration % is append-only', OLD.migration_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Entries are only ever appended (execution_log || new_entries).';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER knowledge_migrations_immutable
    BEFORE UPDATE ON migration_engine.knowledge_migrations
    FOR EACH ROW EXECUTE FUNCTION migration_engine.forbid_migration_edit();

CREATE TABLE migration_engine.active_schema_version (
    id                    integer PRIMARY KEY DEFAULT 1,
    "current_schema"       text NOT NULL DEFAULT 'kg',
    migration_in_progress boolean DEFAULT false,
    migration_id          uuid REFERENCES migration_engine.knowledge_migrations(migration_id),
    switched_at           timestamptz,
    previous_schema       text,
    CONSTRAINT single_active_record CHECK (id = 1),
    CONSTRAINT current_schema_is_identifier CHECK ("current_schema" ~ '^[A-Za-z_][A-Za-z0-9_]*$')
);

-- The singleton exists from install on and can't be removed.
CREATE FUNCTION migration_engine.forbid_singleton_removal() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'active_schema_version is a singleton and can''t be removed'
        USING ERRCODE = 'restrict_violation',
              HINT = 'Switch schemas with migration_engine.switch_active_schema(name) instead.';
END
$$;
CREATE TRIGGER active_schema_version_keep_row
    BEFORE DELETE ON migration_engine.active_schema_version
    FOR EACH ROW EXECUTE FUNCTION migration_engine.forbid_singleton_removal();
CREATE TRIGGER active_schema_version_no_truncate
    BEFORE TRUNCATE ON migration_engine.active_schema_version
    FOR EACH STATEMENT EXECUTE FUNCTION migration_engine.forbid_singleton_removal();

INSERT INTO migration_engine.active_schema_version (id, "current_schema") VALUES (1, 'kg');

-- Append-only audit trail of every state change the extension makes.
CREATE TABLE migration_engine.audit_log (
    audit_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor         text NOT NULL DEFAULT current_user,
    session_actor text NOT NULL DEFAULT session_user,
    operation     text NOT NULL,
    object_type   text,
    object_name   text,
    migration_id  uuid,
    from_status   text,
    to_status     text,
    detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
    backend_pid   integer NOT NULL DEFAULT pg_backend_pid(),
    transaction_id bigint DEFAULT txid_current()
);
CREATE INDEX audit_log_migration_idx ON migration_engine.audit_log (migration_id, audit_id);

-- Who and when are set by the database, never taken from the caller (an INSERT, even a
-- superuser's, is stamped). The one exception is a restore: rows a superuser COPYs in
-- (what pg_restore and a plain dump run through psql do) keep their values, or a backup
-- and restore would rewrite the trail with the restore's time and role.
CREATE FUNCTION migration_engine.audit_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND current_query() ~* '^\s*COPY\s' THEN
        RETURN NEW;
    END IF;
    NEW.occurred_at := clock_timestamp();
    NEW.actor := current_user;
    NEW.session_actor := session_user;
    NEW.backend_pid := pg_backend_pid();
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_stamp
    BEFORE INSERT ON migration_engine.audit_log
    FOR EACH ROW EXECUTE FUNCTION migration_engine.audit_stamp();

CREATE FUNCTION migration_engine.audit_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit rows are never changed; archive them with pg_dump if you must.';
END
$$;
CREATE TRIGGER audit_log_no_update
    BEFORE UPDATE OR DELETE ON migration_engine.audit_log
    FOR EACH ROW EXECUTE FUNCTION migration_engine.audit_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON migration_engine.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION migration_engine.audit_append_only();

-- pg_dump keeps the catalog's rows (extension member tables are otherwise dumped empty).
SELECT pg_catalog.pg_extension_config_dump('migration_engine.knowledge_migrations', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.migration_execution_state', '');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.schema_versions', '');
-- active_schema_version and the sequences: sql/backup.sql.
SELECT pg_catalog.pg_extension_config_dump('migration_engine.audit_log', '');
