-- Broken on purpose (tests/client/flyway_deploy.sh): it reads a table that does not exist.
SELECT migration_engine.deploy_migration($json${
  "name": "backfill_tags", "version": "1", "type": "DATA", "dependsOn": ["tag_people"],
  "forward":  [{"name": "fill", "type": "SQL",
                "script": "INSERT INTO public.person_tags SELECT entity_id, 'person' FROM public.no_such_people"}],
  "rollback": [{"name": "empty", "type": "SQL", "script": "DELETE FROM public.person_tags"}]
}$json$);
