-- Revert kg_example:add_score: fails (division by zero) unless the rollback succeeded
\set ON_ERROR_STOP 1
SELECT 1 / ((migration_engine.rollback_migration('add_score') ->> 'success')::boolean)::int;
