SELECT migration_engine.deploy_migration($json${
  "name": "tag_people", "version": "1", "type": "DATA", "dependsOn": ["add_score"],
  "forward":  [{"name": "tags", "type": "SQL",
                "script": "CREATE TABLE public.person_tags (entity_id uuid PRIMARY KEY, tag text NOT NULL)"}],
  "rollback": [{"name": "drop", "type": "SQL", "script": "DROP TABLE public.person_tags"}]
}$json$);
