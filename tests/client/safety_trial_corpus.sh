# The safety corpus run for real (tests/safety_corpus/trial.py): every case becomes a
# one-step migration traced by validate_migration_safety(name, '{"trial": true}'), and the
# static verdict of each statement is checked against what PostgreSQL did (locks taken,
# relfilenodes). A rewrite or a stronger lock the rules did not predict fails the test.
. "$MIGRATION_ENGINE_ROOT/tests/client/lib.sh"
out=$(mktemp); trap 'rm -f "$out"' EXIT
rc=0
/usr/bin/python3 "$MIGRATION_ENGINE_ROOT/tests/safety_corpus/trial.py" > "$out" 2>&1 || rc=$?
sed 's/^/# /' "$out"
traced=$(sed -n 's/^# \([0-9]*\) statements traced.*/\1/p' "$out")
check "the trial traced the corpus (at least 150 statements: ${traced:-none})" "$([ "${traced:-0}" -ge 150 ] && echo yes)" "yes"
check "no trial contradicted a static verdict by a rewrite or lock the rules did not predict (exit $rc)" "$rc" "0"
