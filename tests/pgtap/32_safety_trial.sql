-- Safety: the trial run as a tracer. Each statement of the forward steps runs in a
-- subtransaction that is rolled back; the trace says what PostgreSQL did (locks,
-- rewrites, rows read, duration) and the static verdict is checked against it.
-- committed before the test's transaction: a table created in the same transaction is
-- already ACCESS EXCLUSIVE locked, and the trial reports only the locks a statement adds
CREATE TABLE public.tr_items (id int PRIMARY KEY, name varchar(20), n int);
INSERT INTO public.tr_items SELECT g, 'item ' || g, g FROM generate_series(1, 1000) g;

BEGIN;
SELECT plan(16);
CREATE TEMP TABLE before AS SELECT pg_relation_filenode('public.tr_items') AS node;

SELECT migration_engine.create_migration('{"name": "tr_two", "version": "1",
  "forward": [{"name": "widen_and_fill", "type": "SQL",
               "script": "ALTER TABLE tr_items ALTER COLUMN name TYPE varchar(40); UPDATE tr_items SET n = n + 1 WHERE n > 0"},
              {"name": "retype", "type": "SQL", "script": "ALTER TABLE tr_items ALTER COLUMN n TYPE bigint"}],
  "rollback": [{"name": "back", "type": "SQL", "script": "ALTER TABLE tr_items ALTER COLUMN n TYPE int"}]}');
CREATE TEMP TABLE r AS SELECT migration_engine.validate_migration_safety('tr_two', '{"trial": true}') AS v;
CREATE TEMP VIEW tr AS SELECT x, o FROM r, jsonb_array_elements(r.v->'trace') WITH ORDINALITY AS t(x, o);

SELECT is((SELECT count(*) FROM tr), 3::bigint, 'one trace per statement: a SQL step is split into its statements');
SELECT is((SELECT x->>'statement' FROM tr WHERE o = 2), 'UPDATE tr_items SET n = n + 1 WHERE n > 0', 'each with its text');
SELECT is((SELECT x->'locks' FROM tr WHERE o = 1), '[{"table": "public.tr_items", "mode": "AccessExclusiveLock"}]',
          'the locks each statement took, from pg_locks');
SELECT is((SELECT x->'rewritten' FROM tr WHERE o = 1), '[]', 'varchar(20) -> varchar(40) keeps the storage (relfilenode unchanged)');
SELECT is((SELECT x->'rewritten' FROM tr WHERE o = 3), '["public.tr_items"]', 'int -> bigint rewrites it');
SELECT cmp_ok((SELECT (x->'rows_scanned'->0->>'rows')::int FROM tr WHERE o = 2), '>=', 1000, 'the UPDATE read every row');
SELECT ok((SELECT (x->>'duration_ms')::float8 >= 0 FROM tr WHERE o = 3), 'with the duration');
SELECT is((SELECT count(*) FROM r, jsonb_array_elements(r.v->'all_results') c, jsonb_array_elements(c->'issues') i
           WHERE i->>'code' = 'STATIC_VERDICT_CONTRADICTED'), 0::bigint, 'the static verdicts agree with what the trial saw');
SELECT is(pg_relation_filenode('public.tr_items'), (SELECT node FROM before), 'and everything is undone');
SELECT is((SELECT data_type FROM information_schema.columns WHERE table_name = 'tr_items' AND column_name = 'n'), 'integer', 'including the type change');

-- a USING expression that is only a binary coercion: the rules expect a rewrite, PostgreSQL
-- relabels (ATColumnChangeRequiresRewrite strips RelabelType); said, as a LOW contradiction
SELECT migration_engine.create_migration('{"name": "tr_using", "version": "1",
  "forward": [{"name": "relabel", "type": "SQL", "script": "ALTER TABLE tr_items ALTER COLUMN name TYPE text USING name::text"}],
  "rollback": [{"name": "back", "type": "SQL", "script": "ALTER TABLE tr_items ALTER COLUMN name TYPE varchar(20)"}]}');
SELECT is((SELECT i->>'severity' || ' ' || (i->'details'->>'predicted') || ' / ' || (i->'details'->>'observed')
           FROM jsonb_array_elements(migration_engine.validate_migration_safety('tr_using', '{"trial": true}')->'all_results') c,
                jsonb_array_elements(c->'issues') i WHERE i->>'code' = 'STATIC_VERDICT_CONTRADICTED'),
          'LOW rewrite / no rewrite', 'a rewrite the rules predicted and PostgreSQL did not do is reported');

-- steps that cannot run in a transaction block are listed, not run
SELECT migration_engine.create_migration('{"name": "tr_concurrently", "version": "1",
  "forward": [{"name": "idx", "type": "SQL", "transaction": false, "script": "CREATE INDEX CONCURRENTLY tr_items_name ON tr_items (name)"},
              {"name": "after", "type": "SQL", "script": "ANALYZE tr_items"}],
  "rollback": [{"name": "unidx", "type": "SQL", "transaction": false, "script": "DROP INDEX CONCURRENTLY tr_items_name"}]}');
CREATE TEMP TABLE cc AS SELECT migration_engine.validate_migration_safety('tr_concurrently', '{"trial": true}') AS v;
SELECT is((SELECT x->>'traced' FROM cc, jsonb_array_elements(cc.v->'trace') x WHERE x->>'step' = 'idx'), 'false',
          'a "transaction": false step is not traced');
SELECT ok((SELECT x->>'note' LIKE '%outside a transaction block%' FROM cc, jsonb_array_elements(cc.v->'trace') x WHERE x->>'step' = 'idx'), 'and says why');
SELECT is((SELECT x->>'traced' FROM cc, jsonb_array_elements(cc.v->'trace') x WHERE x->>'step' = 'after'), 'true', 'the steps after it are');
SELECT hasnt_index('public', 'tr_items', 'tr_items_name', 'nothing was built');

-- without the trial there is no trace
SELECT is((SELECT migration_engine.validate_migration_safety('tr_two') ? 'trace'), false, 'no trace without {"trial": true}');

SELECT * FROM finish();
ROLLBACK;
DROP TABLE public.tr_items;
