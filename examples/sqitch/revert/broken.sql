-- Revert kg_example:broken: fails (division by zero) unless the rollback succeeded
\set ON_ERROR_STOP 1
SELECT 1 / ((migration_engine.rollback_migration('broken') ->> 'success')::boolean)::int;
