-- Verify kg_example:broken
SELECT 1 / (count(*) FILTER (WHERE status = 'COMPLETED'))::int
FROM migration_engine.knowledge_migrations WHERE migration_name = 'broken';
