-- Schema: register / activate versions, compatibility modes, immutability.
BEGIN;
SELECT plan(16);

SELECT lives_ok($$SELECT migration_engine.register_schema_version('1.0.0',
    '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "age": {"type": "integer"}}}}}', 'first')$$,
    'a first version registers');
SELECT is((SELECT is_active FROM migration_engine.schema_versions WHERE version_number = '1.0.0'), true, 'the first version becomes active');
SELECT is(migration_engine.compatibility_mode(), 'BACKWARD', 'the default mode is BACKWARD');

SELECT lives_ok($$SELECT migration_engine.register_schema_version('1.1.0',
    '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "age": {"type": "bigint"}, "email": {"type": "text"}}}}}')$$,
    'a backward-compatible version registers');
SELECT is((SELECT is_active FROM migration_engine.schema_versions WHERE version_number = '1.1.0'), false, 'a later version is registered inactive');
SELECT ok((SELECT jsonb_array_length(breaking_changes) = 2 FROM migration_engine.schema_versions WHERE version_number = '1.1.0'),
          'breaking_changes holds the diff against the active version');
SELECT is((SELECT backward_compatible_with FROM migration_engine.schema_versions WHERE version_number = '1.1.0'), ARRAY['1.0.0'],
          'backward_compatible_with lists the older versions it can read');

SELECT throws_ok($$SELECT migration_engine.register_schema_version('2.0.0', '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "age": {"type": "bigint"}, "email": {"type": "text"}, "ssn": {"type": "text", "nullable": false}}}}}')$$,
                 '42P17', NULL, 'a required field without default violates BACKWARD and is refused');
SELECT throws_ok($$SELECT migration_engine.register_schema_version('1.0.0', '{"entities": {}}')$$, '42710', NULL, 'a version number is registered once');
SELECT throws_like($$SELECT migration_engine.register_schema_version('9', '{"entities": {"P": {"fields": {"x": {"type": 5}}}}}')$$,
                   '%$.entities.P.fields.x.type%', 'a malformed definition is refused with its JSON path');

SELECT lives_ok($$SELECT migration_engine.activate_schema_version('1.1.0')$$, 'a version is activated');
SELECT is((SELECT array_agg(version_number) FROM migration_engine.schema_versions WHERE is_active), ARRAY['1.1.0'], 'exactly one active version');
SELECT throws_ok($$SELECT migration_engine.activate_schema_version('7.7.7')$$, '42704', NULL, 'activating an unknown version is refused');
SELECT ok((SELECT count(*) = 1 FROM migration_engine.audit_log WHERE operation = 'schema_version_activated' AND object_name = '1.1.0'), 'activation is audited');

SELECT is(migration_engine.set_compatibility_mode('NONE'), 'BACKWARD', 'the mode is settable');
SELECT throws_ok($$SELECT migration_engine.set_compatibility_mode('LOOSE')$$, '22023', NULL, 'an unknown mode is refused');

SELECT * FROM finish();
ROLLBACK;
