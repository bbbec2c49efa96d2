-- Verify kg_example:add_score: fails (division by zero) unless the migration completed
SELECT 1 / (count(*) FILTER (WHERE status = 'COMPLETED'))::int
FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score';
