-- The demo's walk-through: what migration_engine can do, on the sample graph.
\pset footer off
\echo
\echo '== 1. The temporal knowledge graph (schema kg, named by active_schema_version)'
SELECT migration_engine.active_schema() AS active_data_schema;
SELECT entity_type, count(*) FILTER (WHERE valid_to = 'infinity' AND NOT is_deleted) AS current_entities,
       count(*) AS versions_kept
FROM kg.temporal_entities GROUP BY entity_type ORDER BY entity_type;
SELECT relation_type, count(*) AS current_relations
FROM kg.temporal_relations WHERE valid_to = 'infinity' AND NOT is_deleted GROUP BY relation_type ORDER BY 1;

\echo
\echo '== 2. History is never overwritten: one person, every version'
SELECT h.content->>'name' AS name, h.content->>'age' AS age, h.valid_from::time(0) AS valid_from,
       CASE WHEN h.valid_to = 'infinity' THEN 'current' ELSE h.valid_to::time(0)::text END AS valid_to
FROM (SELECT entity_id FROM kg.temporal_entities WHERE entity_type = 'Person'
      GROUP BY entity_id HAVING count(*) > 1 ORDER BY entity_id LIMIT 1) one,
     migration_engine.entity_history(one.entity_id) h;

\echo
\echo '== 3. The catalog: migrations, steps, schema versions, and an append-only audit'
SELECT (SELECT count(*) FROM migration_engine.knowledge_migrations) AS migrations,
       (SELECT count(*) FROM migration_engine.schema_versions) AS schema_versions,
       (SELECT count(*) FROM migration_engine.audit_log) AS audit_rows;
