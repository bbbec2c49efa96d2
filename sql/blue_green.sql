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

-- A data schema: one that holds the graph's two tables (what blue-green copies, switches
-- and drops). The owner's helpers below check it before they touch a schema.
CREATE FUNCTION migration_engine.is_data_schema(schema_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = migration_engine, pg_catalog, pg_temp AS $$
    SELECT count(*) = 2 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = schema_name AND c.relkind = 'r' AND c.relname IN ('temporal_entities', 'temporal_relations')
$$;

-- The extension's own two triggers on a table of a data schema, set for the blue-green
-- and canary functions on behalf of their callers (migration_admin), who need not own
-- the tables (kg's belong to the extension's owner). Nothing else can be created here:
-- the trigger names, events and functions are fixed; names are quoted, values literals.
--   kind 'capture': me_capture_change in mode arg ('gated' or 'always'), key columns keys
--   kind 'retire':  me_retired_schema, naming arg as the active schema
--   kind 'reinstate': no me_retired_schema
CREATE FUNCTION migration_engine.set_extension_trigger(schema_name text, table_name text, kind text, arg text, keys text[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    tbl text := format('%I.%I', schema_name, table_name);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = schema_name AND c.relname = table_name AND c.relkind = 'r')
       OR NOT is_data_schema(schema_name) THEN
        RAISE EXCEPTION '% is not a table of a data schema', tbl USING ERRCODE = 'undefined_table';
    END IF;
    IF kind = 'capture' AND EXISTS (SELECT 1 FROM unnest(keys) k WHERE NOT EXISTS (
            SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl::regclass AND a.attname = k AND a.attnum > 0 AND NOT a.attisdropped))
    THEN
        RAISE EXCEPTION 'key columns % are not all columns of %', keys, tbl USING ERRCODE = 'undefined_column';
    END IF;
    IF kind = 'retire' AND schema_name = active_schema() THEN
        RAISE EXCEPTION 'the active data schema % cannot be retired', schema_name
            USING ERRCODE = 'object_in_use', HINT = 'Switch to another schema first: the switch retires the old one.';
    END IF;
    IF kind = 'capture' AND arg IN ('gated', 'always') AND cardinality(keys) > 0 THEN
        EXECUTE format('DROP TRIGGER IF EXISTS me_capture_change ON %s', tbl);
        EXECUTE format('CREATE TRIGGER me_capture_change AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW %s '
                       'EXECUTE FUNCTION migration_engine.capture_change(%s)', tbl,
                       CASE arg WHEN 'gated' THEN 'WHEN (NOT pg_catalog.pg_try_advisory_xact_lock_shared(1296385, 1))' ELSE '' END,
                       (SELECT string_agg(quote_literal(a), ', ') FROM unnest(arg || keys) a));
    ELSIF kind = 'retire' AND arg IS NOT NULL THEN
        EXECUTE format('DROP TRIGGER IF EXISTS me_retired_schema ON %s', tbl);
        EXECUTE format('CREATE TRIGGER me_retired_schema BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION migration_engine.refuse_write_to_retired_schema(%L)', tbl, arg);
    ELSIF kind = 'reinstate' THEN
        EXECUTE format('DROP TRIGGER IF EXISTS me_retired_schema ON %s', tbl);
    ELSE
        RAISE EXCEPTION 'unknown trigger kind % (%)', kind, arg USING ERRCODE = 'invalid_parameter_value';
    END IF;
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
--
-- What clients see (docs/BLUE_GREEN.md, "Stable names"):
--   * kg_live.<table> follows the active schema and gains the columns a switch adds
--     (appended; a column the new table lacks reads NULL, a retyped one is cast back).
--   * kg_live.<table>_v<N> is shape N of that view: its columns never change, so a
--     prepared SELECT * on it survives every switch. Shape 1 is the view at install; a
--     switch that changes the columns of kg_live.<table> adds the next shape.
--   * In the graph's own tables, the current version's valid_to is presented as NULL
--     and is_current says which version is current: the stored 'infinity' is a value
--     several client drivers (psycopg 3, JDBC's getTimestamp) cannot load.
CREATE SCHEMA kg_live;
COMMENT ON SCHEMA kg_live IS 'migration_engine: views over the active data schema, redefined by every schema switch';
GRANT USAGE ON SCHEMA kg_live TO PUBLIC;

-- The select list of a kg_live view of `tab` (a table named `table_name` of a data
-- schema). `shape` is the view as it stands (NULL for a new one): its columns are kept,
-- in order, with their types. `extend` appends the table's columns the shape lacks.
CREATE FUNCTION migration_engine.live_view_select(tab regclass, table_name text, shape regclass, extend boolean)
RETURNS text LANGUAGE sql STABLE SET search_path = migration_engine, pg_catalog, pg_temp AS $$
    WITH t AS (SELECT attname, atttypid, atttypmod, attnum FROM pg_attribute
               WHERE attrelid = tab AND attnum > 0 AND NOT attisdropped),
         v AS (SELECT attname, atttypid, atttypmod, attnum FROM pg_attribute
               WHERE attrelid = shape AND attnum > 0 AND NOT attisdropped),
         -- the graph's own tables get the client presentation of validity
         temporal AS (SELECT table_name IN ('temporal_entities', 'temporal_relations')
                             AND EXISTS (SELECT 1 FROM t WHERE attname = 'valid_to' AND atttypid = 'timestamptz'::regtype)
                             AND NOT EXISTS (SELECT 1 FROM t WHERE attname = 'is_current') AS yes),
         cols AS (
             SELECT v.attnum AS ord, v.attname, v.atttypid, v.atttypmod, t.attname IS NOT NULL AS in_table,
                    t.atttypid = v.atttypid AND t.atttypmod = v.atttypmod AS same_type
             FROM v LEFT JOIN t USING (attname)
             UNION ALL
             SELECT 100000 + t.attnum, t.attname, t.atttypid, t.atttypmod, true, true
             FROM t WHERE extend AND NOT EXISTS (SELECT 1 FROM v WHERE v.attname = t.attname)
             UNION ALL
             SELECT 200000, 'is_current', 'boolean'::regtype, -1, false, false
             FROM temporal WHERE extend AND yes AND NOT EXISTS (SELECT 1 FROM v WHERE v.attname = 'is_current'))
    SELECT string_agg(CASE
               WHEN yes AND c.attname = 'valid_to' AND c.in_table AND c.atttypid = 'timestamptz'::regtype
                   THEN 'NULLIF(valid_to, ''infinity'') AS valid_to'
               WHEN yes AND c.attname = 'is_current' AND NOT c.in_table
                   THEN '(valid_to = ''infinity'') AS is_current'
               WHEN NOT c.in_table THEN format('NULL::%s AS %I', format_type(c.atttypid, c.atttypmod), c.attname)
               WHEN c.same_type THEN format('%I', c.attname)
               ELSE format('%I::%s AS %I', c.attname, format_type(c.atttypid, c.atttypmod), c.attname) END,
           ', ' ORDER BY c.ord)
    FROM cols c CROSS JOIN temporal
$$;

-- The table a view of kg_live is a fixed shape of (its comment says so), or NULL.
CREATE FUNCTION migration_engine.live_view_shape_of(view_oid regclass)
RETURNS text LANGUAGE sql STABLE SET search_path = migration_engine, pg_catalog, pg_temp AS $$
    SELECT (regexp_match(obj_description(view_oid, 'pg_class'),
                         '^migration_engine: shape [0-9]+ of kg_live\.(.+), whose columns never change$'))[1]
$$;

-- Define kg_live.<table_name> over `tab`, then its shapes: every shape is repointed at
-- `tab` with its own columns, and a new shape is added when the view's columns are not
-- those of its latest shape. New views get `tab`'s grants (and migration_admin's rights
-- on rows). No checks: point_live_view (below) and the install script call it.
CREATE FUNCTION migration_engine.define_live_view(tab regclass, table_name text)
RETURNS void LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    live_view regclass := to_regclass(format('kg_live.%I', table_name));
    fresh boolean := live_view IS NULL;
    shape record;
    latest regclass;
    latest_n int := 0;
    g record;
BEGIN
    EXECUTE format('CREATE OR REPLACE VIEW kg_live.%I WITH (security_invoker = true) AS SELECT %s FROM %s',
                   table_name, live_view_select(tab, table_name, live_view, true), tab);
    live_view := to_regclass(format('kg_live.%I', table_name));
    IF fresh THEN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO migration_admin', live_view);
        FOR g IN SELECT a.privilege_type, a.grantee FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
                 WHERE c.oid = tab AND a.grantee <> c.relowner AND a.privilege_type NOT IN ('TRIGGER', 'TRUNCATE') LOOP
            EXECUTE format('GRANT %s ON %s TO %s', g.privilege_type, live_view,
                           CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
        END LOOP;
    END IF;
    FOR shape IN SELECT c.oid::regclass AS view_oid, (regexp_match(c.relname, '_v([0-9]+)$'))[1]::int AS n
                 FROM pg_class c
                 WHERE c.relnamespace = 'kg_live'::regnamespace AND c.relkind = 'v'
                   AND live_view_shape_of(c.oid) = table_name
                 ORDER BY 2 LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS SELECT %s FROM %s',
                       shape.view_oid, live_view_select(tab, table_name, shape.view_oid, false), tab);
        latest := shape.view_oid;
        latest_n := shape.n;
    END LOOP;
    IF latest IS NOT NULL AND (SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute WHERE attrelid = latest AND attnum > 0)
                            = (SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute WHERE attrelid = live_view AND attnum > 0) THEN
        RETURN;
    END IF;
    IF to_regclass(format('kg_live.%I', table_name || '_v' || (latest_n + 1))) IS NOT NULL THEN
        RAISE WARNING 'kg_live.% exists and is not a shape of kg_live.%: the new shape of % is not published',
            table_name || '_v' || (latest_n + 1), table_name, table_name;
        RETURN;
    END IF;
    EXECUTE format('CREATE VIEW kg_live.%I WITH (security_invoker = true) AS SELECT %s FROM %s',
                   table_name || '_v' || (latest_n + 1), live_view_select(tab, table_name, live_view, false), tab);
    EXECUTE format('COMMENT ON VIEW kg_live.%I IS %L', table_name || '_v' || (latest_n + 1),
                   format('migration_engine: shape %s of kg_live.%s, whose columns never change', latest_n + 1, table_name));
    FOR g IN SELECT a.privilege_type, a.grantee FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
             WHERE c.oid = live_view AND a.grantee <> c.relowner LOOP
        EXECUTE format('GRANT %s ON kg_live.%I TO %s', g.privilege_type, table_name || '_v' || (latest_n + 1),
                       CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
    END LOOP;
END
$$;

SELECT migration_engine.define_live_view('kg.temporal_entities', 'temporal_entities');
SELECT migration_engine.define_live_view('kg.temporal_relations', 'temporal_relations');

-- Point kg_live's view of a table at that table of the data schema `schema_name`, which
-- must be the active one: kg_live shows the active schema and nothing else. Called by
-- adopt_active_schema() (below) when the active schema changes; the owner's alone. An
-- existing view keeps its columns, so CREATE OR REPLACE always applies (see
-- define_live_view).
CREATE FUNCTION migration_engine.point_live_view(schema_name text, table_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    tab regclass := to_regclass(format('%I.%I', schema_name, table_name));
BEGIN
    IF tab IS NULL OR NOT is_data_schema(schema_name) THEN
        RAISE EXCEPTION '%.% is not a table of a data schema', schema_name, table_name USING ERRCODE = 'undefined_table';
    END IF;
    IF schema_name IS DISTINCT FROM active_schema() THEN
        RAISE EXCEPTION 'kg_live shows the active data schema only, not %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Switch schemas with migration_engine.switch_active_schema(name): kg_live follows the switch.';
    END IF;
    PERFORM define_live_view(tab, table_name);
END
$$;

-- Drop a view of kg_live whose table the new schema does not have, with its shapes; the
-- extension's own views are kept (they point at the old table until dropped by hand).
CREATE FUNCTION migration_engine.drop_live_view(view_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    live_view regclass := to_regclass(format('kg_live.%I', view_name));
    base text := live_view_shape_of(live_view);
BEGIN
    IF live_view IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_depend WHERE objid = live_view AND deptype = 'e')
       AND to_regclass(format('%I.%I', active_schema(), coalesce(base, view_name))) IS NULL THEN
        EXECUTE format('DROP VIEW %s', live_view);
    END IF;
END
$$;

-- Functions that objects of `nsp` (column defaults, constraints, triggers, policies,
-- index expressions, view rules) call: whoever writes to or reads those tables runs them.
CREATE FUNCTION migration_engine.routines_called_by_schema(nsp oid)
RETURNS TABLE (routine oid, called_by text) LANGUAGE sql STABLE
SET search_path = migration_engine, pg_catalog, pg_temp AS $$
    SELECT DISTINCT d.refobjid, pg_describe_object(d.classid, d.objid, d.objsubid)
    FROM pg_depend d
    WHERE d.refclassid = 'pg_proc'::regclass AND d.deptype = 'n'
      AND CASE d.classid
            WHEN 'pg_attrdef'::regclass THEN EXISTS (SELECT 1 FROM pg_attrdef x JOIN pg_class c ON c.oid = x.adrelid
                                                      WHERE x.oid = d.objid AND c.relnamespace = nsp)
            WHEN 'pg_constraint'::regclass THEN EXISTS (SELECT 1 FROM pg_constraint x WHERE x.oid = d.objid AND x.connamespace = nsp)
            WHEN 'pg_trigger'::regclass THEN EXISTS (SELECT 1 FROM pg_trigger x JOIN pg_class c ON c.oid = x.tgrelid
                                                      WHERE x.oid = d.objid AND c.relnamespace = nsp)
            WHEN 'pg_policy'::regclass THEN EXISTS (SELECT 1 FROM pg_policy x JOIN pg_class c ON c.oid = x.polrelid
                                                     WHERE x.oid = d.objid AND c.relnamespace = nsp)
            WHEN 'pg_rewrite'::regclass THEN EXISTS (SELECT 1 FROM pg_rewrite x JOIN pg_class c ON c.oid = x.ev_class
                                                      WHERE x.oid = d.objid AND c.relnamespace = nsp)
            WHEN 'pg_class'::regclass THEN EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objid AND c.relnamespace = nsp)
            ELSE false END
$$;

-- The active data schema is the extension owner's, as kg is: the graph's writers (the
-- owner among them) write there, and a trigger, default or policy fires with the rights
-- of whoever writes. So when a schema becomes active (a blue-green switch, a canary's
-- finalize, switch_back, or a direct UPDATE of active_schema_version):
--   1. it is refused (42501) if its tables call a function owned by a role that is not
--      a superuser, unless the previous active schema called that function too (the
--      blue-green copy carries the old schema's own triggers and defaults);
--   2. its schema, tables and sequences become the owner's (views stay their owner's:
--      a view runs with its owner's rights, and must not gain the owner's);
--   3. migration_admin gets the same rights as on kg (rows, not TRIGGER or TRUNCATE);
--   4. kg_live is pointed at it.
-- It acts on the active schema only, so calling it outside a switch changes nothing that
-- the switch would not have made so.
CREATE FUNCTION migration_engine.adopt_active_schema()
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    a record;
    nsp oid;
    prev oid;
    bad text;
    adopted text[] := '{}';
    r record;
    me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
BEGIN
    SELECT * INTO a FROM active_schema_version WHERE id = 1;
    SELECT oid INTO nsp FROM pg_namespace WHERE nspname = a."current_schema";
    SELECT oid INTO prev FROM pg_namespace WHERE nspname = a.previous_schema;
    IF nsp IS NULL OR a."current_schema" IN ('pg_catalog', 'information_schema', 'migration_engine', 'kg_live', 'public')
       OR a."current_schema" LIKE 'pg\_%'
       OR NOT is_data_schema(a."current_schema") THEN
        RAISE EXCEPTION 'schema % cannot be the active data schema: it is not a data schema', a."current_schema"
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A data schema holds the tables temporal_entities and temporal_relations (see execute_blue_green_migration).';
    END IF;
    SELECT string_agg(format('%s calls %s, owned by %s', n.called_by, n.routine::regprocedure, pg_get_userbyid(p.proowner)), '; ')
    INTO bad
    FROM routines_called_by_schema(nsp) n
    JOIN pg_proc p ON p.oid = n.routine
    JOIN pg_roles o ON o.oid = p.proowner
    WHERE NOT o.rolsuper
      AND (prev IS NULL OR n.routine NOT IN (SELECT routine FROM routines_called_by_schema(prev)));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'schema % cannot become the active data schema: %', a."current_schema", bad
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Those functions would run with the rights of whoever writes to or reads the graph.',
                  HINT = 'Remove them from the schema''s tables, or have a superuser review and own them (ALTER FUNCTION ... OWNER TO ...).';
    END IF;
    IF (SELECT nspowner FROM pg_namespace WHERE oid = nsp) <> me THEN
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', a."current_schema", current_user);
        adopted := adopted || a."current_schema";
    END IF;
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
             WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'p', 'S') AND c.relowner <> me
               -- a sequence owned by a column follows its table
               AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                                      AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
             ORDER BY c.relkind DESC, c.relname
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO %I', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                       a."current_schema", r.relname, current_user);
        adopted := adopted || format('%I.%I', a."current_schema", r.relname);
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO migration_admin', a."current_schema");
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO migration_admin', a."current_schema");
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO migration_admin', a."current_schema");
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO kg_reader', a."current_schema");
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO kg_reader', a."current_schema");
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO kg_writer', a."current_schema");
    FOR r IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = nsp AND c.relkind = 'r'
             AND c.relname IN ('temporal_entities', 'temporal_relations') LOOP
        EXECUTE format('GRANT INSERT, UPDATE ON %I.%I TO kg_writer', a."current_schema", r.relname);
    END LOOP;
    FOR r IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = nsp AND c.relkind = 'r' ORDER BY c.relname LOOP
        PERFORM point_live_view(a."current_schema", r.relname);
    END LOOP;
    FOR r IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'kg_live'::regnamespace AND c.relkind = 'v' LOOP
        PERFORM drop_live_view(r.relname);
    END LOOP;
    -- the schema that now holds the graph keeps its history (sql/history.sql); in a
    -- restore (sql/backup.sql) its triggers come with the dump, later
    IF current_setting('migration_engine.restoring', true) IS DISTINCT FROM 'on'
       OR NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        PERFORM protect_history_of(a."current_schema");
    END IF;
    RETURN jsonb_build_object('schema', a."current_schema", 'adopted', to_jsonb(adopted));
END
$$;

-- drop_inactive_schema for a schema the owner adopted while it was active: only an
-- inactive data schema that is not the extension's own (kg), and never the active one.
CREATE FUNCTION migration_engine.drop_adopted_schema(schema_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    nsp oid := (SELECT oid FROM pg_namespace WHERE nspname = schema_name);
BEGIN
    IF nsp IS NULL OR schema_name = active_schema()
       OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = nsp AND d.deptype = 'e')
       OR (SELECT nspowner FROM pg_namespace WHERE oid = nsp) <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
       OR NOT is_data_schema(schema_name) THEN
        RAISE EXCEPTION 'schema % is not an inactive data schema adopted by the extension', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only inactive data schemas can be dropped (migration_engine.drop_inactive_schema); kg itself needs the extension''s owner.';
    END IF;
    EXECUTE format('DROP SCHEMA %I CASCADE', schema_name);
END
$$;

-- Fires for every change of the active schema, whoever makes it: kg_live and ownership
-- follow (adopt_active_schema), and the change is audited with who made it (this
-- function runs as the caller).
CREATE FUNCTION migration_engine.on_active_schema_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    adopted jsonb := migration_engine.adopt_active_schema();
BEGIN
    -- a restore (sql/backup.sql) puts back the switch's own audit row with the rest
    IF current_setting('migration_engine.restoring', true) = 'on'
       AND (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (operation, object_type, object_name, migration_id, from_status, to_status, detail)
    VALUES ('active_schema_changed', 'schema', NEW."current_schema", NEW.migration_id, OLD."current_schema",
            NEW."current_schema", adopted);
    RETURN NULL;
END
$$;
CREATE TRIGGER active_schema_changed
    AFTER UPDATE OF "current_schema" ON migration_engine.active_schema_version
    FOR EACH ROW WHEN (NEW."current_schema" IS DISTINCT FROM OLD."current_schema")
    EXECUTE FUNCTION migration_engine.on_active_schema_change();

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
