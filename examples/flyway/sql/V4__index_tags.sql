SELECT migration_engine.deploy_migration($json${
  "name": "index_tags", "version": "1", "dependsOn": ["tag_people"],
  "forward":  [{"name": "index", "type": "SQL", "script": "CREATE INDEX person_tags_by_tag ON public.person_tags (tag)"}],
  "rollback": [{"name": "drop", "type": "SQL", "script": "DROP INDEX public.person_tags_by_tag"}]
}$json$);
