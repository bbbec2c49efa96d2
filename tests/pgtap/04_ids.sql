-- Time-ordered ids: uuid_v7() and uuid_v7_time().
BEGIN;
SELECT plan(8);

SELECT is((SELECT substr(migration_engine.uuid_v7()::text, 15, 1)), '7', 'uuid_v7() makes version 7 UUIDs');
SELECT is((SELECT substr(migration_engine.uuid_v7()::text, 20, 1) IN ('8', '9', 'a', 'b')), true, 'with the RFC 9562 variant bits');
SELECT is((SELECT count(DISTINCT migration_engine.uuid_v7()) FROM generate_series(1, 10000)), 10000::bigint, 'all different');
SELECT is((WITH made AS (SELECT g, migration_engine.uuid_v7() AS id FROM generate_series(1, 10000) g)
           SELECT bool_and(id > lag) FROM (SELECT id, lag(id) OVER (ORDER BY g) FROM made) s WHERE lag IS NOT NULL),
          true, 'and increasing in the order they were made, within one millisecond too');
SELECT ok((SELECT abs(extract(epoch FROM migration_engine.uuid_v7_time(migration_engine.uuid_v7()) - clock_timestamp())) < 5),
          'uuid_v7_time() reads back when it was made');
SELECT is(migration_engine.uuid_v7_time('017f22e2-79b0-7cc3-98c4-dc0c0c07398f'), '2022-02-22 19:22:22+00'::timestamptz,
          'the RFC 9562 example''s time');
SELECT is(migration_engine.uuid_v7_time(gen_random_uuid()), NULL, 'a random (version 4) UUID has no time');
SELECT is(migration_engine.uuid_v7_time(NULL), NULL, 'NULL in, NULL out');

SELECT * FROM finish();
ROLLBACK;
