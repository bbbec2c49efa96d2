-- migration_engine 0.1.0 -> 0.2.0, written by hand: runs before the generated part.
-- Nothing here rewrites a row of the user's; CHANGELOG.md ("0.2.0") says what changed.

-- upgrade: handles table migration_engine.canary_rollouts
-- the role a canary's background worker runs as (0.1.0 ran it as the extension's owner);
-- a rollout started under 0.1.0 has none and is resumed as whoever resumes it
ALTER TABLE migration_engine.canary_rollouts ADD COLUMN worker_role text;

-- upgrade: handles table migration_engine.pipeline_runs
-- a run's batch statement, compiled once when it begins, and its SHA-256; runs begun
-- under 0.1.0 have none and are compiled at their next batch
ALTER TABLE migration_engine.pipeline_runs ADD COLUMN IF NOT EXISTS batch_sql text,
                                           ADD COLUMN IF NOT EXISTS batch_sql_hash text;

-- the two history functions now present the current version without 'infinity' and
-- return is_current: a new result type, which CREATE OR REPLACE cannot give
DROP FUNCTION migration_engine.entity_history(uuid);
DROP FUNCTION migration_engine.entity_as_of(uuid, timestamptz);

-- lint_sql gained a third argument (options, defaulting to '{}'): CREATE OR REPLACE would
-- leave the two-argument one beside it, and a call with one or two arguments would be
-- ambiguous
DROP FUNCTION migration_engine.lint_sql(text, boolean);

-- rights 0.1.0 gave and 0.2.0 does not (docs/SECURITY.md, "Privilege matrix"): TRIGGER,
-- TRUNCATE and REFERENCES on the graph for migration_admin (a trigger fires as whoever
-- writes, the owner included), and the kg_live helpers, now the owner's alone
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA kg, kg_live FROM migration_admin;
REVOKE EXECUTE ON FUNCTION migration_engine.point_live_view(text, text),
                           migration_engine.drop_live_view(text) FROM migration_admin;
