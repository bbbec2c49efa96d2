-- The fix of V3: the failed deploy was rolled back whole, so the name is free again.
SELECT migration_engine.deploy_migration($json${
  "name": "backfill_tags", "version": "1", "type": "DATA", "dependsOn": ["tag_people"],
  "forward":  [{"name": "fill", "type": "SQL",
                "script": "INSERT INTO public.person_tags SELECT entity_id, 'person' FROM temporal_entities WHERE entity_type = 'Person' AND valid_to = 'infinity'"}],
  "rollback": [{"name": "empty", "type": "SQL", "script": "DELETE FROM public.person_tags"}]
}$json$);
