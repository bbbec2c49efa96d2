-- Foundation: roles and privileges.
BEGIN;
SELECT plan(10);

SELECT has_role('migration_admin', 'the migration_admin role exists');
SELECT ok(NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'migration_admin'), 'migration_admin is NOLOGIN');

INSERT INTO migration_engine.audit_log (operation, object_name) VALUES ('seed', 'x');

SET ROLE me_plain_user;
SELECT lives_ok($$SELECT count(*) FROM migration_engine.audit_log$$, 'a plain role may read the audit');
SELECT throws_ok($$UPDATE migration_engine.audit_log SET operation = 'x'$$, '42501', NULL, 'a plain role cannot update audit rows');
SELECT throws_ok($$DELETE FROM migration_engine.audit_log$$, '42501', NULL, 'a plain role cannot delete audit rows');
SELECT throws_ok($$INSERT INTO migration_engine.audit_log (operation) VALUES ('forged')$$, '42501', NULL,
                 'a plain role cannot write audit rows');
SELECT throws_ok($$UPDATE migration_engine.active_schema_version SET "current_schema" = 'evil'$$, '42501', NULL,
                 'a plain role cannot switch the active schema by hand');
RESET ROLE;

SET ROLE me_admin_user;
SELECT throws_ok($$DELETE FROM migration_engine.audit_log$$, '42501', NULL, 'migration_admin cannot delete audit rows either');
RESET ROLE;

-- every function of the extension pins its search_path, but the per-row ones: C functions
-- that run no SQL and look up no name (nothing a search_path could redirect), called for
-- every row (the id makers as a column default, where SET search_path costs 40 % of the
-- insert, bench/uuid.sql; content_conforms and the repeated_hashes aggregate's support
-- functions in the integrity scan)
SELECT is(
    (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'migration_engine' AND p.prokind = 'f'
       AND p.proname NOT IN ('uuid_v7', 'uuid_v7_time', 'content_conforms', 'repeated_hashes_add',
                             'repeated_hashes_combine', 'repeated_hashes_serialize',
                             'repeated_hashes_deserialize', 'repeated_hashes_final')
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')),
    0::bigint, 'every function pins search_path');
SELECT is(
    (SELECT array_agg(p.proname::text || ' ' || l.lanname || ' ' || p.prosecdef ORDER BY p.proname)
     FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'migration_engine'::regnamespace AND p.prokind = 'f'
       AND (p.proname IN ('uuid_v7', 'uuid_v7_time', 'content_conforms') OR p.proname LIKE 'repeated\_hashes\_%')),
    ARRAY['content_conforms c false', 'repeated_hashes_add c false', 'repeated_hashes_combine c false',
          'repeated_hashes_deserialize c false', 'repeated_hashes_final c false',
          'repeated_hashes_serialize c false', 'uuid_v7 c false', 'uuid_v7_time c false'],
    'the exceptions are C functions, not SECURITY DEFINER');

SELECT * FROM finish();
ROLLBACK;
