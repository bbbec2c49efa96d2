# A sqitch project (examples/sqitch, Debian's sqitch) drives the extension: deploy, a
# failing deploy (the deploy fails, sqitch does not record the change, the migration's
# FAILED record stays), revert, and a re-deploy of the same change (issue 12).
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
command -v sqitch >/dev/null || fail "sqitch is not installed (scripts/setup installs it)"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$MIGRATION_ENGINE_ROOT/examples/sqitch/." "$work/"
cd "$work"
export SQITCH_FULLNAME="CI Deployer" SQITCH_EMAIL="ci@example.com" SQITCH_CONFIG="$work/sqitch.user.conf"
target="db:pg:$PGDATABASE"
transcript=/tmp/me-sqitch-transcript.txt; : > "$transcript"
run() { echo "\$ $*" >> "$transcript"; "$@" >> "$transcript" 2>&1; }
status_of() { q "SELECT status FROM migration_engine.knowledge_migrations WHERE migration_name = '$1'"; }
has_score() { q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'kg.temporal_entities'::regclass AND attname = 'score' AND NOT attisdropped"; }

run sqitch deploy --to add_score "$target" || fail "sqitch deploy --to add_score failed: $(tail -5 "$transcript")"
run sqitch verify "$target" || fail "sqitch verify failed"
check "deploy: the migration ran" "$(status_of add_score):$(has_score)" "COMPLETED:1"

if run sqitch deploy "$target"; then fail "sqitch deploy of the broken change reported success"; fi
echo "ok - a failing migration fails sqitch deploy"
check "sqitch did not record the broken change" "$(q "SELECT string_agg(change, ',' ORDER BY committed_at) FROM sqitch.changes")" "add_score"
check "the failed migration's record stays, with its error" "$(q "SELECT status || ':' || (last_error LIKE '%no_such_table%') FROM migration_engine.knowledge_migrations WHERE migration_name = 'broken'")" "FAILED:true"

run sqitch revert -y "$target" || fail "sqitch revert failed: $(tail -5 "$transcript")"
check "revert: rolled back" "$(status_of add_score):$(has_score)" "ROLLED_BACK:0"
check "sqitch recorded the revert" "$(q "SELECT count(*) FROM sqitch.changes")" "0"

run sqitch deploy --to add_score "$target" || fail "the re-deploy failed: $(tail -5 "$transcript")"
check "re-deploy: the same change runs again" "$(status_of add_score):$(has_score)" "COMPLETED:1"
check "with the one migration it always was" "$(q "SELECT count(*) FROM migration_engine.knowledge_migrations WHERE migration_name = 'add_score'")" "1"
run sqitch status "$target" || true
echo "ok - transcript in $transcript"
