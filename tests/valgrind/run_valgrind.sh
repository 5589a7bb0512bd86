#!/usr/bin/env bash
# run_valgrind.sh - runs the Criterion unit tests under valgrind memcheck.
#
#   tests/valgrind/run_valgrind.sh build/unit-tests [criterion options...]
#
# Criterion runs every test in a child process; valgrind follows them
# (--trace-children) but not the Python endpoint some tests start, nor
# shells. Each process writes its own log. Criterion does not notice a
# child's valgrind exit status, so this script judges the logs: any memcheck
# error (invalid read/write, uninitialised use, bad free) or any definitely
# or indirectly lost block fails the run and the offending logs are
# printed. "Still reachable" memory (libcurl's and OpenSSL's global state)
# is not a leak. Criterion's warnings (e.g. a test noting that, under
# valgrind, a child took longer than usual to start) do not fail the run;
# failed assertions and crashes do. Processes that exec a skipped program
# or are killed by a test end without a summary: nothing to judge there.
# Logs: $VALGRIND_LOG_DIR (default: a temp dir, kept on failure).
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: $0 UNIT_TESTS [criterion options...]" >&2
  exit 2
fi
bin=$1
shift
logs=${VALGRIND_LOG_DIR:-$(mktemp -d /tmp/healer-valgrind-XXXXXX)}
mkdir -p "$logs"
rm -f "$logs"/vg.*.log

start=$SECONDS
status=0
valgrind --trace-children=yes \
  --trace-children-skip='*python*,*/sh,*/bash,*/env' \
  --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
  --track-origins=yes --num-callers=30 \
  --log-file="$logs/vg.%p.log" \
  "$bin" --jobs 2 --ignore-warnings "$@" || status=$?

bad=()
for f in "$logs"/vg.*.log; do
  [ -e "$f" ] || continue
  # Leaks of the kinds above count as errors in the summary.
  if grep -qE 'ERROR SUMMARY: [1-9]' "$f"; then
    bad+=("$f")
  fi
done
count=$(find "$logs" -name 'vg.*.log' | wc -l)
if [ "${#bad[@]}" -ne 0 ]; then
  for f in "${bad[@]}"; do
    echo "---- $f" >&2
    grep -vE '^==[0-9]+== *$|Memcheck, a memory error detector|Copyright|Using Valgrind|Command:|Parent PID' "$f" >&2 || true
  done
  echo "valgrind: ${#bad[@]} of $count processes had memory errors or leaks (logs in $logs)" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "valgrind: the unit tests failed under valgrind (exit $status; logs in $logs)" >&2
  exit "$status"
fi
echo "valgrind: $count processes checked, no memory errors, no leaks ($((SECONDS - start)) s)"
if [ -z "${VALGRIND_LOG_DIR:-}" ]; then
  rm -rf "$logs"
fi
