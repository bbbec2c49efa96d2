-- A small sample knowledge graph: people, companies, projects and papers, with relations
-- and some history (people change jobs and ages, papers get revised).
SELECT setseed(0.42);

CREATE TEMP TABLE demo_people AS
SELECT i, migration_engine.upsert_entity('Person', jsonb_build_object(
           'name', (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','John','Ken','Radia'])[1 + i % 10]
                   || ' ' || (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Backus','Thompson','Perlman'])[1 + (i / 10) % 10],
           'email', 'person' || i || '@example.org',
           'age', 25 + (i * 7) % 40,
           'country', (ARRAY['de','fr','uk','us','nl'])[1 + i % 5])) AS id
FROM generate_series(1, 200) AS i;

CREATE TEMP TABLE demo_companies AS
SELECT i, migration_engine.upsert_entity('Company', jsonb_build_object(
           'name', (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Vandelay','Stark','Wayne'])[i],
           'founded', 1950 + i * 7)) AS id
FROM generate_series(1, 8) AS i;

CREATE TEMP TABLE demo_projects AS
SELECT i, migration_engine.upsert_entity('Project', jsonb_build_object(
           'title', 'Project ' || i, 'status', (ARRAY['active','paused','done'])[1 + i % 3])) AS id
FROM generate_series(1, 40) AS i;

CREATE TEMP TABLE demo_papers AS
SELECT i, migration_engine.upsert_entity('Paper', jsonb_build_object(
           'title', 'On the theory of graphs, part ' || i, 'year', 1970 + i % 50)) AS id
FROM generate_series(1, 60) AS i;

-- relations: everyone works somewhere, contributes to projects, authors papers
SELECT count(migration_engine.upsert_relation('WORKS_AT', p.id, c.id, jsonb_build_object('since', 2000 + p.i % 20)))
FROM demo_people p JOIN demo_companies c ON c.i = 1 + p.i % 8;
SELECT count(migration_engine.upsert_relation('CONTRIBUTES_TO', p.id, pr.id))
FROM demo_people p JOIN demo_projects pr ON pr.i = 1 + p.i % 40;
SELECT count(migration_engine.upsert_relation('AUTHORED', p.id, pa.id))
FROM demo_people p JOIN demo_papers pa ON pa.i = 1 + (p.i * 3) % 60 WHERE p.i % 2 = 0;
SELECT count(migration_engine.upsert_relation('CITES', a.id, b.id))
FROM demo_papers a JOIN demo_papers b ON b.i = 1 + (a.i * 7) % 60 WHERE a.i <> b.i;

SELECT pg_sleep(1.1);  -- so that the versions below are visibly later
-- history: a third of the people had a birthday, a few papers were revised, one company closed
SELECT count(migration_engine.upsert_entity('Person', e.content || jsonb_build_object('age', (e.content->>'age')::int + 1), p.id))
FROM demo_people p JOIN kg.temporal_entities e ON e.entity_id = p.id AND e.valid_to = 'infinity'
WHERE p.i % 3 = 0;
SELECT count(migration_engine.upsert_entity('Paper', e.content || '{"revised": true}', p.id))
FROM demo_papers p JOIN kg.temporal_entities e ON e.entity_id = p.id AND e.valid_to = 'infinity'
WHERE p.i % 10 = 0;
SELECT migration_engine.delete_entity(id) FROM demo_companies WHERE i = 8;
