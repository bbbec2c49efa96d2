-- Safety: the lock rules on a corpus of unsafe statements and their safe rewrites,
-- parsed by Postgres's own parser (lint_sql uses the same path as the checks).
BEGIN;
CREATE TABLE public.items (id int PRIMARY KEY, name varchar(20), price numeric(10,2), created timestamp, owner_id int);
CREATE TABLE public.owners (id int PRIMARY KEY);
-- the referencing column is indexed, so the NOT VALID foreign key below is the safe form
CREATE INDEX items_owner_id ON public.items (owner_id);
INSERT INTO public.items SELECT g, 'n' || g, g, now(), NULL FROM generate_series(1, 10) g;

CREATE TEMP TABLE corpus (n serial, sql text, in_tx boolean DEFAULT true, expected text);
INSERT INTO corpus (sql, expected, in_tx) VALUES
 ('CREATE INDEX items_name ON items (name)', 'CREATE_INDEX_NOT_CONCURRENTLY', true),
 ('CREATE UNIQUE INDEX items_name_u ON items (name)', 'CREATE_INDEX_NOT_CONCURRENTLY', true),
 ('DROP INDEX items_pkey_x', 'DROP_INDEX_NOT_CONCURRENTLY', true),
 ('ALTER TABLE items ALTER COLUMN price TYPE text', 'ALTER_COLUMN_TYPE_REWRITE', true),
 ('ALTER TABLE items ALTER COLUMN id TYPE bigint', 'ALTER_COLUMN_TYPE_REWRITE', true),
 ('ALTER TABLE items ALTER COLUMN name TYPE varchar(10)', 'ALTER_COLUMN_TYPE_REWRITE', true),
 ('ALTER TABLE items ADD COLUMN token uuid DEFAULT gen_random_uuid()', 'ADD_COLUMN_VOLATILE_DEFAULT', true),
 ('ALTER TABLE items ADD COLUMN r float8 DEFAULT random()', 'ADD_COLUMN_VOLATILE_DEFAULT', true),
 ('ALTER TABLE items ADD COLUMN seq bigserial', 'ADD_COLUMN_VOLATILE_DEFAULT', true),
 ('ALTER TABLE items ALTER COLUMN name SET NOT NULL', 'SET_NOT_NULL_WITHOUT_CHECK', true),
 ('ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id)', 'ADD_FOREIGN_KEY_WITHOUT_NOT_VALID', true),
 ('ALTER TABLE items ADD CONSTRAINT price_pos CHECK (price > 0)', 'ADD_CHECK_WITHOUT_NOT_VALID', true),
 ('ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE (name)', 'ADD_UNIQUE_WITHOUT_INDEX', true),
 ('VACUUM FULL items', 'VACUUM_FULL', false),
 ('CLUSTER items USING items_pkey', 'CLUSTER', true),
 ('REINDEX TABLE items', 'REINDEX_NOT_CONCURRENTLY', true),
 ('ALTER TABLE items RENAME COLUMN name TO title', 'RENAME_COLUMN', true),
 ('ALTER TABLE items RENAME TO products', 'RENAME_TABLE', true),
 ('ALTER TABLE items DROP COLUMN price', 'DROP_COLUMN', true),
 ('DROP TABLE items', 'DROP_TABLE', true),
 ('TRUNCATE owners CASCADE', 'TRUNCATE_CASCADE', true),
 ('TRUNCATE items', 'TRUNCATE_TABLE', true),
 ('LOCK TABLE items', 'LOCK_TABLE', true),
 ('LOCK TABLE items IN SHARE MODE', 'LOCK_TABLE', true),
 ('CREATE INDEX CONCURRENTLY items_name_c ON items (name)', 'CONCURRENTLY_IN_TRANSACTION', true),
 ('REINDEX TABLE CONCURRENTLY items', 'CONCURRENTLY_IN_TRANSACTION', true),
 ('VACUUM items', 'VACUUM_IN_TRANSACTION', true),
 ('BEGIN; UPDATE items SET name = ''x''; COMMIT', 'TRANSACTION_CONTROL_IN_STEP', true);

CREATE TEMP TABLE safe (n serial, sql text, in_tx boolean DEFAULT true);
INSERT INTO safe (sql, in_tx) VALUES
 ('CREATE INDEX CONCURRENTLY items_name_c ON items (name)', false),
 ('DROP INDEX CONCURRENTLY items_name_c', false),
 ('ALTER TABLE items ALTER COLUMN name TYPE varchar(40)', true),
 ('ALTER TABLE items ALTER COLUMN name TYPE text', true),
 ('ALTER TABLE items ALTER COLUMN price TYPE numeric(12,2)', true),
 ('ALTER TABLE items ADD COLUMN note text DEFAULT ''none''', true),
 ('ALTER TABLE items ADD COLUMN seen timestamptz DEFAULT now()', true),
 ('ALTER TABLE items ADD COLUMN extra jsonb', true),
 ('ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id) NOT VALID', true),
 ('ALTER TABLE items VALIDATE CONSTRAINT items_owner_fk', true),
 ('ALTER TABLE items ADD CONSTRAINT price_pos CHECK (price > 0) NOT VALID', true),
 ('ALTER TABLE items ADD CONSTRAINT items_name_key UNIQUE USING INDEX items_name_u', true),
 ('REINDEX TABLE CONCURRENTLY items', false),
 ('VACUUM items', false),
 ('UPDATE items SET name = upper(name) WHERE id < 5', true),
 ('CREATE TABLE fresh (id int); CREATE INDEX fresh_id ON fresh (id)', true);

SELECT plan((SELECT count(*)::int FROM corpus) + (SELECT count(*)::int FROM safe) + 5);

SELECT ok(EXISTS (SELECT 1 FROM jsonb_array_elements(migration_engine.lint_sql(sql, in_tx)) f WHERE f->>'code' = expected),
          format('flagged %s: %s', expected, sql))
FROM corpus ORDER BY n;

SELECT is(migration_engine.lint_sql(sql, in_tx), '[]'::jsonb, format('not flagged: %s', sql))
FROM safe ORDER BY n;

-- what a finding says
SELECT is((SELECT f->>'lock_mode' FROM jsonb_array_elements(migration_engine.lint_sql('CREATE INDEX i ON items (name)')) f), 'SHARE',
          'CREATE INDEX takes SHARE');
SELECT ok((SELECT (f->>'rewrites_table')::boolean FROM jsonb_array_elements(migration_engine.lint_sql('ALTER TABLE items ALTER COLUMN price TYPE text')) f),
          'a type change to text rewrites the table');
SELECT ok((SELECT f->>'recipe' LIKE '%CONCURRENTLY%' FROM jsonb_array_elements(migration_engine.lint_sql('CREATE INDEX i ON items (name)')) f),
          'the recipe names the safe way');
SELECT throws_ok($$SELECT migration_engine.lint_sql('CREATE INDEXX oops')$$, '42601', NULL, 'SQL that does not parse is a syntax error');
SELECT ok((SELECT count(*) >= 20 FROM migration_engine.safety_rules()), 'the rules are documented with examples');

SELECT * FROM finish();
ROLLBACK;
