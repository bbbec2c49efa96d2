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

\echo
\echo '== 4. A schema registry: versions, breaking-change detection, a compatibility mode'
SELECT migration_engine.register_schema_version('1.0.0', '{"entities": {
    "Person":  {"identity": ["email"], "fields": {"name": {"type": "text", "nullable": false}, "email": {"type": "text"},
                "age": {"type": "integer"}, "country": {"type": "varchar(2)"}}},
    "Company": {"fields": {"name": {"type": "text", "nullable": false}, "founded": {"type": "integer"}}},
    "Project": {"fields": {"title": {"type": "text"}, "status": {"type": "text", "enum": ["active", "paused", "done"]}}},
    "Paper":   {"fields": {"title": {"type": "text"}, "year": {"type": "integer"}, "revised": {"type": "boolean"}}}}}',
    'the sample graph''s schema') IS NOT NULL AS registered_1_0_0;
SELECT c->>'type' AS change, c->>'entity' AS entity, c->>'field' AS field, c->>'severity' AS severity,
       (c->>'breaks_readers')::boolean AS breaks_readers, (c->>'breaks_writers')::boolean AS breaks_writers
FROM jsonb_array_elements(migration_engine.detect_breaking_changes(
    (SELECT schema_definition FROM migration_engine.schema_versions WHERE version_number = '1.0.0'),
    '{"entities": {"Person": {"fields": {"name": {"type": "text", "nullable": false}, "email": {"type": "text", "nullable": false},
                                          "age": {"type": "bigint"}, "country": {"type": "varchar(2)"}}},
                   "Company": {"fields": {"name": {"type": "text", "nullable": false}, "founded": {"type": "integer"}}},
                   "Project": {"fields": {"title": {"type": "text"}, "status": {"type": "text", "enum": ["active", "done"]}}}}}')) c;

\echo
\echo '== 5. Backward-compatible evolution: add a field with a backfilled default, deprecate another'
SELECT r->>'version_number' AS new_version, r->'backfill'->>'rows_updated' AS backfilled, r->'backfill'->>'batches' AS batches
FROM (SELECT migration_engine.add_field_backward_compatible('Person', 'active', '{"type": "boolean", "nullable": false}', 'true') AS r) x;
SELECT r->>'version_number' AS new_version, r->>'entities_tagged' AS entities_tagged
FROM (SELECT migration_engine.deprecate_field('Paper', 'revised', 'use the history instead', '2.0.0') AS r) x;
SELECT entity_type, field_name, removal_version, entities_using FROM migration_engine.deprecated_fields;
SELECT jsonb_array_length(migration_engine.validate_entities()) AS non_conforming_entities;

\echo
\echo '== 6. Migrations: dependencies, a plan, a graph, safety checks, execution, rollback'
SELECT migration_engine.create_migration('{"name": "projects_owner", "version": "1.1.0", "type": "SCHEMA",
  "forward": [{"name": "table", "type": "SQL", "script": "CREATE TABLE project_owner (project_id uuid PRIMARY KEY, owner_id uuid NOT NULL)"}],
  "rollback": [{"name": "drop", "type": "SQL", "script": "DROP TABLE project_owner"}]}') IS NOT NULL AS created;
SELECT migration_engine.create_migration('{"name": "projects_owner_fill", "version": "1.1.1", "type": "DATA", "dependsOn": ["projects_owner"],
  "forward": [{"name": "fill", "type": "SQL", "script": "INSERT INTO project_owner SELECT target_entity_id, source_entity_id FROM kg.temporal_relations WHERE relation_type = ''CONTRIBUTES_TO'' AND valid_to = ''infinity'' ON CONFLICT DO NOTHING"},
              {"name": "check", "type": "VALIDATE", "script": "SELECT count(*) > 0 FROM project_owner"}],
  "rollback": [{"name": "empty", "type": "SQL", "script": "DELETE FROM project_owner"}]}') IS NOT NULL AS created;
SELECT migration_engine.create_migration('{"name": "risky_index", "version": "1.2.0",
  "forward": [{"name": "idx", "type": "SQL", "script": "CREATE INDEX people_by_name ON kg.temporal_entities ((content->>''name''))"}]}') IS NOT NULL AS created;
SELECT execution_order, migration_name, priority, depends_on FROM migration_engine.migration_plan();
\echo 'the dependency graph (Mermaid):'
SELECT migration_engine.migration_graph();
SELECT (r->>'overall_safety')::boolean AS safe, jsonb_path_query_array(r, '$.critical_issues[*].code') AS critical,
       jsonb_path_query_array(r, '$.all_results[*].issues[*] ? (@.code == "POTENTIAL_LOCK").details.code') AS lock_findings
FROM (SELECT migration_engine.validate_migration_safety('risky_index') AS r) x;
SELECT r->>'success' AS success, r->>'code' AS refused_with FROM (SELECT migration_engine.execute_migration('risky_index') AS r) x;
SELECT name, r->>'success' AS success, r->>'status' AS status, r->>'affected_entities' AS affected
FROM (VALUES ('projects_owner'), ('projects_owner_fill')) v(name), LATERAL (SELECT migration_engine.execute_migration(name) AS r) x;
SELECT migration_name, display_status, progress_pct FROM migration_engine.migration_status ORDER BY migration_name;
SELECT r->>'success' AS cascade_rollback, jsonb_array_length(r->'cascaded') AS dependents_rolled_back
FROM (SELECT migration_engine.rollback_migration('projects_owner', '{"cascade": true}') AS r) x;

\echo
\echo '== 7. A transformation pipeline: compiled to set-based SQL, history kept, undone exactly'
SELECT r->>'success' AS success, r->'metrics'->>'rows_changed' AS changed, r->'metrics'->>'batches' AS batches,
       (SELECT jsonb_agg(s->>'step_name' || ': ' || (s->>'input_count') || ' -> ' || (s->>'output_count')) FROM jsonb_array_elements(r->'step_results') s) AS steps
FROM (SELECT migration_engine.execute_pipeline('{"name": "countries", "source": {"entityType": "Person"}, "batchSize": 50,
  "steps": [{"name": "country names", "type": "MAP", "config": {"mappingRules": [
      {"type": "LOOKUP_TRANSFORM", "lookupTable": {"de": "Germany", "fr": "France", "uk": "United Kingdom", "us": "United States", "nl": "Netherlands"},
       "keyField": "country", "targetField": "country_name"},
      {"type": "FIELD_TRANSFORM", "field": "name", "transformation": "upper"}]}}]}') AS r) x;
SELECT content->>'name' AS name, content->>'country_name' AS country FROM kg.temporal_entities
WHERE entity_type = 'Person' AND valid_to = 'infinity' ORDER BY entity_id LIMIT 3;
SELECT (migration_engine.undo_pipeline_run(run_id)->>'restored') AS restored_by_undo FROM migration_engine.pipeline_runs WHERE pipeline_name = 'countries';
SELECT content->>'name' AS name_after_undo FROM kg.temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity' ORDER BY entity_id LIMIT 3;

\echo
\echo '== 8. Blue-green: copy, migrate, validate, switch atomically (pg_notify), and back'
LISTEN schema_switched;
SELECT migration_engine.create_migration('{"name": "add_region", "version": "1", "forward": [
    {"name": "region", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN region text NOT NULL DEFAULT ''eu''"}],
  "validation": [{"name": "every entity has a region", "script": "SELECT count(*) = 0 FROM temporal_entities WHERE region IS NULL"}],
  "rollback": [{"name": "drop region", "type": "SQL", "script": "ALTER TABLE temporal_entities DROP COLUMN region"}]}') IS NOT NULL AS created;
SELECT r->>'success' AS success, r->>'previous_schema' AS previous, r->>'new_schema' AS active, r->'rows'->>'copied' AS rows_copied,
       r->'timings_ms'->>'copy_ms' AS copy_ms, r->'timings_ms'->>'write_freeze_ms' AS write_freeze_ms
FROM (SELECT migration_engine.execute_blue_green_migration(
        (SELECT migration_id FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_region'), 'green') AS r) x;
SELECT count(*) AS entities_in_kg_live, min(region) AS region FROM kg_live.temporal_entities WHERE is_current;
SELECT migration_engine.upsert_entity('Person', '{"name": "Grace", "born": 1906}') IS NOT NULL AS written_to_green;
SELECT r->>'new_schema' AS switched_back_to, r->>'replayed_rows' AS writes_brought_back FROM (SELECT migration_engine.switch_back() AS r) x;
SELECT count(*) AS grace_in_kg FROM kg.temporal_entities WHERE content->>'name' = 'Grace';
SELECT * FROM migration_engine.blue_green_status;

\echo
\echo '== 9. Canary: deterministic routing, the seed''s weighted score, advance to 100 % and switch'
SELECT migration_engine.create_migration('{"name": "add_tier", "version": "1", "forward": [
    {"name": "tier", "type": "SQL", "script": "ALTER TABLE temporal_entities ADD COLUMN tier int NOT NULL DEFAULT 1"}],
  "rollback": [{"name": "r", "type": "SQL", "script": "ALTER TABLE temporal_entities DROP COLUMN tier"}]}') IS NOT NULL AS created;
SELECT r->>'old_schema' AS old, r->>'new_schema' AS new, r->>'percentage' AS percentage
FROM (SELECT migration_engine.start_canary('{"migrationName": "add_tier", "canaryPercentage": 20, "stepPercentage": 40,
        "successThreshold": 0.8, "stabilizationSeconds": 3600}') AS r) x;
SELECT migration_engine.canary_route('add_tier', 'user-' || g) AS schema, count(*) AS keys FROM generate_series(1, 1000) g GROUP BY 1 ORDER BY 1;
SELECT migration_engine.record_canary_metric('add_tier', 'error_rate', 0.002), migration_engine.record_canary_metric('add_tier', 'response_time', 80);
SELECT v->>'score' AS score, v->>'success' AS healthy FROM (SELECT migration_engine.evaluate_canary('add_tier') AS v) x;
SELECT v->>'decision' AS decision, v->>'percentage' AS percentage FROM (SELECT migration_engine.advance_canary('add_tier') AS v) x;
SELECT v->>'decision' AS decision, v->>'percentage' AS percentage FROM (SELECT migration_engine.advance_canary('add_tier') AS v) x;
SELECT migration_name, status, percentage, jsonb_path_query_array(history, '$[*].step') AS steps FROM migration_engine.canary_status;
SELECT migration_engine.active_schema() AS active_schema_now;

\echo
\echo '== 10. The audit trail'
SELECT operation, count(*) FROM migration_engine.audit_log GROUP BY operation ORDER BY count(*) DESC, operation LIMIT 12;
