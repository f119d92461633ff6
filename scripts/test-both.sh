#!/usr/bin/env bash
# The whole suite on both databases at once (SQLite and a real PostgreSQL server), one pytest
# process each: most tests wait on one core, so two runs take little longer than one. Each
# run's output is kept and printed when both are done; the exit code fails if either failed.
set -uo pipefail
bin=$1
logs=$(mktemp -d)
"$bin/pytest" -p no:cacheprovider >"$logs/sqlite.log" 2>&1 &
sqlite=$!
"$bin/pytest" -p no:cacheprovider --db=postgres >"$logs/postgres.log" 2>&1 &
postgres=$!
wait $sqlite; sqlite_status=$?
wait $postgres; postgres_status=$?
echo "=== SQLite (exit $sqlite_status) ==="; cat "$logs/sqlite.log"
echo "=== PostgreSQL (exit $postgres_status) ==="; cat "$logs/postgres.log"
rm -rf "$logs"
[ $sqlite_status -eq 0 ] && [ $postgres_status -eq 0 ]
