-- Schema: detect_breaking_changes rules and severities, is_type_compatible.
BEGIN;
SELECT plan(30);

CREATE TEMP TABLE s(name text PRIMARY KEY, doc jsonb);
INSERT INTO s VALUES
 ('base', '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "age": {"type": "integer", "nullable": true},
            "status": {"type": "text", "enum": ["active", "retired"]}, "nick": {"type": "varchar(20)"}, "score": {"type": "integer", "default": 0}}},
            "Company": {"fields": {"name": {"type": "text"}}}}}');

CREATE FUNCTION pg_temp.diff(new jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT migration_engine.detect_breaking_changes((SELECT doc FROM s WHERE name = 'base'), new) $$;
CREATE FUNCTION pg_temp.edit(path text[], v jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT jsonb_set((SELECT doc FROM s WHERE name = 'base'), path, v) $$;

SELECT is(pg_temp.diff((SELECT doc FROM s WHERE name = 'base')), '[]'::jsonb, 'identical schemas give []');

-- the seed's rules
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff((SELECT doc #- '{entities,Company}' FROM s WHERE name = 'base'))) c
           WHERE c->>'type' = 'ENTITY_REMOVED' AND c->>'entity' = 'Company'), 'HIGH', 'ENTITY_REMOVED is HIGH');
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff((SELECT doc #- '{entities,Person,fields,age}' FROM s WHERE name = 'base'))) c
           WHERE c->>'type' = 'FIELD_REMOVED' AND c->>'field' = 'age'), 'HIGH', 'FIELD_REMOVED is HIGH');
SELECT is((SELECT c->>'severity' || ' ' || (c->>'old_type') || '->' || (c->>'new_type') FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,age,type}', '"bigint"'))) c
           WHERE c->>'type' = 'FIELD_TYPE_CHANGED'), 'MEDIUM integer->bigint', 'a compatible type change is MEDIUM');
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,age,type}', '"text"'))) c
           WHERE c->>'type' = 'FIELD_TYPE_CHANGED'), 'HIGH', 'an incompatible type change is HIGH');
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,age,nullable}', 'false'))) c
           WHERE c->>'type' = 'FIELD_NULLABILITY_CHANGED'), 'HIGH', 'nullable -> not nullable is HIGH');
SELECT is((SELECT (c->>'breaks_writers') || '/' || (c->>'breaks_readers') FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,age,nullable}', 'false'))) c
           WHERE c->>'type' = 'FIELD_NULLABILITY_CHANGED'), 'true/false', 'nullable -> not nullable breaks writers');
SELECT is((SELECT (c->>'breaks_readers') FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,name,nullable}', 'true'))) c
           WHERE c->>'type' = 'FIELD_NULLABILITY_CHANGED'), 'true', 'not null -> nullable can break readers');
SELECT ok((SELECT c->>'severity' IN ('LOW', 'INFO') FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,name,nullable}', 'true'))) c
           WHERE c->>'type' = 'FIELD_NULLABILITY_CHANGED'), 'not null -> nullable is not HIGH');

-- beyond the seed
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Paper}', '{"fields": {"title": {"type": "text"}}}'))) c
           WHERE c->>'type' = 'ENTITY_ADDED'), 'INFO', 'an added entity is informational');
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,email}', '{"type": "text"}'))) c
           WHERE c->>'type' = 'FIELD_ADDED'), 'INFO', 'an added optional field is informational');
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,email}', '{"type": "text", "nullable": false}'))) c
           WHERE c->>'type' = 'REQUIRED_FIELD_ADDED'), 'HIGH', 'a required field without default is HIGH (breaks writers)');
SELECT is((SELECT count(*) FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,email}', '{"type": "text", "nullable": false, "default": "x"}'))) c
           WHERE c->>'type' = 'REQUIRED_FIELD_ADDED'), 0::bigint, 'a required field with a default is not REQUIRED_FIELD_ADDED');
SELECT is((SELECT c->>'severity' FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,status,enum}', '["active"]'))) c
           WHERE c->>'type' = 'ENUM_VALUE_REMOVED'), 'HIGH', 'a removed enum value is HIGH');
SELECT ok((SELECT count(*) = 1 FROM jsonb_array_elements(pg_temp.diff(pg_temp.edit('{entities,Person,fields,score,default}', '1'))) c
           WHERE c->>'type' = 'FIELD_DEFAULT_CHANGED'), 'a changed default is reported');
SELECT ok((SELECT count(*) = 1 FROM jsonb_array_elements(pg_temp.diff(
              (SELECT jsonb_set(doc #- '{entities,Person,fields,nick}', '{entities,Person,fields,nickname}', '{"type": "varchar(20)", "renamed_from": "nick"}') FROM s))) c
           WHERE c->>'type' = 'FIELD_RENAMED'), 'a declared rename is FIELD_RENAMED');
SELECT is((SELECT count(*) FROM jsonb_array_elements(pg_temp.diff(
              (SELECT jsonb_set(doc #- '{entities,Person,fields,nick}', '{entities,Person,fields,nickname}', '{"type": "varchar(20)", "renamed_from": "nick"}') FROM s))) c
           WHERE c->>'type' IN ('FIELD_REMOVED', 'FIELD_ADDED')), 0::bigint, '... and not a removal plus an addition');
SELECT ok((SELECT count(*) = 1 FROM jsonb_array_elements(migration_engine.detect_breaking_changes(
              '{"version": "1.0", "entities": {"P": {"fields": {"x": {"type": "text", "deprecated": true, "removal_version": "3.0"}}}}}',
              '{"version": "2.0", "entities": {"P": {"fields": {}}}}')) c
           WHERE c->>'type' = 'DEPRECATED_FIELD_REMOVED_EARLY'), 'removing a deprecated field before its removal_version is flagged');
SELECT is(pg_temp.diff(pg_temp.edit('{entities,Person,fields,age,type}', '"text"')), pg_temp.diff(pg_temp.edit('{entities,Person,fields,age,type}', '"text"')),
          'the output is deterministic');

-- bad input
SELECT throws_like($$SELECT migration_engine.detect_breaking_changes('{"entities": {"P": {"fields": {"a": {"nullable": true}}}}}', '{"entities": {}}')$$,
                   '%$.entities.P.fields.a%"type"%', 'a malformed schema is refused, naming the JSON path');
SELECT throws_ok($$SELECT migration_engine.detect_breaking_changes('[]', '{"entities": {}}')$$, '22023', NULL, 'a non-object schema is refused');

-- is_type_compatible
SELECT ok(migration_engine.is_type_compatible('integer', 'bigint'), 'integer -> bigint');
SELECT ok(migration_engine.is_type_compatible('int4', 'INT8'), 'aliases and case are normalised');
SELECT ok(migration_engine.is_type_compatible('varchar(20)', 'varchar(40)') AND migration_engine.is_type_compatible('varchar', 'text'), 'varchar widenings');
SELECT ok(migration_engine.is_type_compatible('timestamp', 'timestamptz') AND migration_engine.is_type_compatible('date', 'timestamptz'), 'timestamp and date widenings');
SELECT ok(NOT migration_engine.is_type_compatible('bigint', 'integer') AND NOT migration_engine.is_type_compatible('varchar(40)', 'varchar(20)'), 'narrowings are not compatible');
SELECT ok(NOT migration_engine.is_type_compatible('frobnicate', 'text'), 'unknown types are not compatible, and no error');

-- found by the core's fuzzing (core/tests/fuzz.rs): one stack frame per array suffix
-- overflowed the stack; more than Postgres's 6 dimensions is now an unknown type
SELECT is((SELECT migration_engine.detect_breaking_changes('{"entities": {"P": {"fields": {"a": {"type": "text"}}}}}',
             jsonb_build_object('entities', jsonb_build_object('P', jsonb_build_object('fields', jsonb_build_object('a',
                 jsonb_build_object('type', 'text' || repeat('[]', 100000)))))))->0->>'type'),
          'FIELD_TYPE_CHANGED', 'a type with 100000 array suffixes is an unknown type, not a crash');
SELECT ok(NOT migration_engine.is_type_compatible('text[]', 'text' || repeat('[]', 7)), 'nor compatible with an array type');
-- found by fuzzing too: a null field in an entity that is the same on both sides passed
SELECT throws_ok($$SELECT migration_engine.detect_breaking_changes('{"entities": {"E": {"fields": {"f": null}}}}', '{"entities": {"E": {"fields": {"f": null}}}}')$$,
                 '22023', NULL, 'a field that is null is refused even when both documents are the same');

SELECT * FROM finish();
ROLLBACK;
