# The crash and race trials of scripts/trials, with few repetitions: a CALL run_migration,
# a CALL run_pipeline and a blue-green run, each crashed twice at a random point
# (pg_terminate_backend, kill -9 of the backend, pg_ctl -m immediate; the seed is printed)
# and resumed to the same checksum as an uninterrupted run; one migration raced from two
# sessions 5 times, never run twice. Smaller workloads than scripts/trials.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
. "$MIGRATION_ENGINE_ROOT/scripts/lib/cluster.sh"
TRIAL_MIG_STEPS=8 TRIAL_MIG_SLEEP=0.2 TRIAL_PIPE_ROWS=1500 TRIAL_PIPE_BATCH=100 TRIAL_BG_ROWS=15000
. "$MIGRATION_ENGINE_ROOT/scripts/lib/trials.sh"

trials_main 2 5 "${TRIAL_SEED:-}" || true
check "run_migration: both crashed runs resumed to the reference checksum" "${TRIAL_OK_run_migration:-0}" 2
check "run_pipeline: both crashed runs resumed to the reference checksum" "${TRIAL_OK_run_pipeline:-0}" 2
check "blue_green: both crashed runs reached the reference checksum" "${TRIAL_OK_blue_green:-0}" 2
check "race: no double run" "${TRIAL_DOUBLE_race:-x}" 0
check "race: one success and one clean refusal each time" "${TRIAL_OK_race:-0}" 5
