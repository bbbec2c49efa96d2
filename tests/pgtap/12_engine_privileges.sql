-- Engine: only the owner and migration_admin may create, run or roll back migrations.
BEGIN;
SELECT plan(6);
SELECT migration_engine.create_migration('{"name": "priv", "version": "1", "forward": [{"name": "a", "type": "SQL", "script": "SELECT 1"}],
    "rollback": [{"name": "r", "type": "SQL", "script": "SELECT 1"}]}');
SET ROLE me_plain_user;
SELECT throws_ok($$SELECT migration_engine.create_migration('{"name": "p2", "version": "1", "forward": [{"name": "a", "type": "SQL", "script": "SELECT 1"}]}')$$,
                 '42501', NULL, 'a plain role cannot create migrations');
SELECT throws_ok($$SELECT migration_engine.execute_migration('priv')$$, '42501', NULL, 'a plain role cannot run migrations');
SELECT throws_ok($$SELECT migration_engine.rollback_migration('priv')$$, '42501', NULL, 'a plain role cannot roll back migrations');
SELECT throws_ok($$CALL migration_engine.run_migration('priv')$$, '42501', NULL, 'a plain role cannot CALL run_migration');
SELECT lives_ok($$SELECT * FROM migration_engine.migration_plan()$$, 'a plain role may read the plan');
RESET ROLE;
SET ROLE me_admin_user;
SELECT is((SELECT migration_engine.execute_migration('priv')->>'success'), 'true', 'a migration_admin member may run migrations');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
