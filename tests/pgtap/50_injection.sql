-- Injection regressions: names and values that come from users are validated, quoted
-- or bound, never spliced (DESIGN.md practice 6).
BEGIN;
SELECT plan(11);
CREATE TABLE public.canary_table (x int);

-- jsonb keys with quotes and SQL in them are data, not SQL (a dot would nest: "a.b" is key b under a)
INSERT INTO kg.temporal_entities (entity_type, content) VALUES ('Doc', '{"a''); DROP TABLE canary_table; --": "v", "b\\c": "w"}');
SELECT is((SELECT migration_engine.execute_pipeline('{"name": "keys", "source": {"entityType": "Doc"}, "steps": [{"name": "m", "type": "MAP", "config": {"mappingRules": [
    {"type": "FIELD_RENAME", "source": "a''); DROP TABLE canary_table; --", "target": "safe"},
    {"type": "FIELD_TRANSFORM", "field": "b\\c", "transformation": "upper"}]}}]}')->>'success'), 'true',
  'a pipeline over keys holding quotes, SQL and backslashes runs');
SELECT is((SELECT content FROM kg.temporal_entities WHERE entity_type = 'Doc' AND valid_to = 'infinity'), '{"safe": "v", "b\\c": "W"}'::jsonb,
  'and treats them as keys');
SELECT has_table('public', 'canary_table', 'nothing was dropped');

-- identifiers are refused, not quoted into something else
SELECT throws_ok($$SELECT migration_engine.execute_pipeline('{"name": "t", "source": {"entityType": "Doc"}, "steps": [{"name": "m", "type": "MAP", "config": {"mappingRules": [
    {"type": "LOOKUP_TRANSFORM", "lookupTable": "public.canary_table; DROP TABLE public.canary_table", "keyField": "a", "targetField": "b"}]}}]}')$$,
  '22023', NULL, 'a lookup table that is not schema.table is refused');
SELECT throws_ok($$SELECT migration_engine.execute_pipeline('{"name": "t", "source": {"entityType": "Doc\"; DROP TABLE x; --"}, "steps": [{"name": "f", "type": "FILTER", "config": {"condition": "$.a == 1"}}]}')$$,
  '42602', NULL, 'an entity type that is not a plain name is refused');
SELECT throws_ok($$SELECT migration_engine.register_schema_version('x', '{"entities": {"P; DROP TABLE public.canary_table": {"fields": {}}}}')$$,
  '22023', NULL, 'a schema document with an entity name that is not a plain name is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "f", "version": "1", "forward": [{"name": "s", "type": "FUNCTION", "function": "pg_sleep(1); DROP TABLE public.canary_table; SELECT now"}]}')$$,
  '22023', NULL, 'a FUNCTION step name that is not schema.name is refused');
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "f", "version": "1", "forward": [{"name": "s", "type": "FUNCTION", "function": "now", "parameters": {"x => 1); DROP TABLE public.canary_table; --": 1}}]}')$$,
  '22023', NULL, 'a named parameter that is not a plain name is refused');

-- values bound or quoted as literals
CREATE FUNCTION public.echo(v text) RETURNS text LANGUAGE sql AS $$ SELECT v $$;
SELECT migration_engine.create_migration('{"name": "lit", "version": "1", "forward": [{"name": "s", "type": "FUNCTION", "function": "public.echo",
    "parameters": {"v": "''); DROP TABLE public.canary_table; --"}}], "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
SELECT is((SELECT migration_engine.execute_migration('lit')->>'success'), 'true', 'a FUNCTION parameter holding SQL is a literal');
SELECT has_table('public', 'canary_table', 'still nothing dropped');

-- names in the rendered graph are escaped
SELECT migration_engine.create_migration('{"name": "evil\"] --> x[\"", "version": "1", "forward": [{"name": "s", "type": "SQL", "script": "SELECT 1"}]}');
SELECT ok(migration_engine.migration_graph() NOT LIKE '%--> x["%', 'a migration name cannot inject edges into the Mermaid graph');

SELECT * FROM finish();
ROLLBACK;
