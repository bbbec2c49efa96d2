-- Blue-green across two clusters (src/cluster, docs/CLUSTER_BLUE_GREEN.md): blue, the
-- cluster that takes writes now, publishes its data schema; green, a second cluster with
-- the extension, subscribes, migrated before its initial copy; the switch fences blue and
-- makes green the live one. Both clusters keep a row here for the same migration (same
-- cluster_migration_id), each with its own role. Rows are never deleted: they are the
-- record of who moved the graph where, and when.
CREATE TABLE migration_engine.cluster_migrations (
    cluster_migration_id uuid PRIMARY KEY,
    -- this cluster's part: 'blue' publishes and is fenced at the switch, 'green' subscribes
    role                 text NOT NULL CHECK (role IN ('blue', 'green')),
    migration_name       text NOT NULL,
    -- how this cluster reaches the other (blue: green's conninfo for dblink; green:
    -- blue's for its subscription). May hold a password: readable by migration_admin only
    peer_conninfo        text NOT NULL,
    -- what the switch tells clients to connect to (no password)
    announce_conninfo    text NOT NULL,
    publication_name     text NOT NULL,
    subscription_name    text NOT NULL,
    data_schema          text NOT NULL,
    phase                text NOT NULL DEFAULT 'PREPARING'
                         CHECK (phase IN ('PREPARING', 'COPYING', 'STREAMING', 'FENCED',
                                          'SWITCHED', 'FAILED', 'ABORTED')),
    options              jsonb NOT NULL DEFAULT '{}',
    error                text,
    started_by           text NOT NULL DEFAULT current_user,
    started_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    phase_changed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    fenced_at            timestamptz,
    switched_at          timestamptz,
    -- the switch's figures (write freeze, waits, sequences moved), once switched
    switch_report        jsonb,
    worker_pid           integer
);
COMMENT ON TABLE migration_engine.cluster_migrations IS 'Blue-green migrations across two clusters over logical replication: one row per migration on each cluster';
-- one cluster migration at a time per cluster (an ended one does not count)
CREATE UNIQUE INDEX cluster_migrations_one_open ON migration_engine.cluster_migrations ((true))
    WHERE phase NOT IN ('SWITCHED', 'ABORTED');
SELECT pg_catalog.pg_extension_config_dump('migration_engine.cluster_migrations', '');

-- Blue's heartbeat, published with the data schema: blue's worker rewrites its row every
-- heartbeatInterval; green's copy of the row says up to which moment (and WAL position)
-- green has applied blue's writes, because a row is applied in commit order with them.
CREATE TABLE migration_engine.cluster_heartbeat (
    cluster_migration_id uuid PRIMARY KEY,
    beat                 bigint NOT NULL,
    sent_at              timestamptz NOT NULL,
    sent_lsn             pg_lsn NOT NULL
);
COMMENT ON TABLE migration_engine.cluster_heartbeat IS 'Blue''s heartbeat, replicated to green: the applied lag of a cluster migration';

-- The fence of a cluster that takes no writes: blue from its switch on (clients retry into
-- green), green until its switch (it receives blue's rows; a local write would fork the
-- graph). Statement triggers that PostgreSQL's logical replication apply does not fire
-- (it runs with session_replication_role = replica), so green still receives.
CREATE FUNCTION migration_engine.refuse_write_to_fenced_cluster() RETURNS trigger
LANGUAGE plpgsql SET search_path = migration_engine, pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'this cluster takes no writes to %: %', TG_TABLE_SCHEMA, TG_ARGV[0]
        USING ERRCODE = 'serialization_failure',
              HINT = 'Retry the transaction on the live cluster (see migration_engine.cluster_migration_status()).';
END
$$;

-- Raise (reason given) or lift (reason NULL) the fence on every table of data schema
-- schema_name, for the cluster functions on behalf of migration_admin, who need not own
-- the tables. Only this trigger, on tables of a data schema, can be made here.
CREATE FUNCTION migration_engine.set_cluster_fence(schema_name text, reason text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = migration_engine, pg_catalog, pg_temp AS $$
DECLARE
    t record;
    n integer := 0;
BEGIN
    IF schema_name IS NULL OR NOT is_data_schema(schema_name) THEN
        RAISE EXCEPTION '% is not a data schema', schema_name USING ERRCODE = 'invalid_schema_name';
    END IF;
    FOR t IN SELECT format('%I.%I', n.nspname, c.relname) AS tbl
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = schema_name AND c.relkind IN ('r', 'p') ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS me_cluster_fence ON %s', t.tbl);
        IF reason IS NOT NULL THEN
            EXECUTE format('CREATE TRIGGER me_cluster_fence BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION migration_engine.refuse_write_to_fenced_cluster(%L)',
                           t.tbl, reason);
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- The CALL that switches: the fence goes up and commits (blue's writers get 40001 from
-- here on, their last commits are in the WAL before the final heartbeat), then green is
-- waited for and made live in a second transaction (src/cluster/switch.rs). Interrupted
-- between the two, the migration stays FENCED: CALL it again to finish, or abort.
CREATE PROCEDURE migration_engine.switch_cluster_migration(cluster_migration_id uuid, options jsonb DEFAULT '{}')
LANGUAGE plpgsql
AS $$
DECLARE
    fenced jsonb;
    done jsonb;
BEGIN
    fenced := migration_engine.cluster_switch_fence(cluster_migration_id, options);
    COMMIT;
    done := migration_engine.cluster_switch_complete(cluster_migration_id, options, fenced);
    COMMIT;
    IF NOT (done ->> 'switched')::boolean THEN
        -- the fence is lifted and that is committed: blue takes writes again
        RAISE EXCEPTION 'cluster migration % did not switch: %', cluster_migration_id, done ->> 'error'
            USING ERRCODE = 'query_canceled',
                  HINT = 'Blue takes writes again. Retry when cluster_migration_status() shows a small applied_lag, or raise options.timeout.';
    END IF;
    -- green's subscription and blue's slot and publication go once both sides say SWITCHED
    PERFORM migration_engine.cluster_switch_cleanup(cluster_migration_id);
    COMMIT;
    RAISE NOTICE 'cluster migration %: switched, write freeze % ms; clients connect to %', cluster_migration_id,
        round((done ->> 'write_freeze_ms')::numeric, 1), done ->> 'connect';
END
$$;
