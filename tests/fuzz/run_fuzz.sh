#!/usr/bin/env bash
# run_fuzz.sh - runs libFuzzer targets built by tests/fuzz/Makefile.fuzz.
#
#   run_fuzz.sh FUZZ_BUILD runs N TARGET...   N inputs per target
#   run_fuzz.sh FUZZ_BUILD time S TARGET...   S seconds per target
#   run_fuzz.sh FUZZ_BUILD smoke N TARGET...  N inputs per target from seed 1
#                                             and an empty scratch corpus
#                                             (what make test runs)
#
# Each target reads its committed seeds (tests/fuzz/corpus/<target>/, never
# written) and keeps what it finds in FUZZ_BUILD/corpus/<target>/. Output
# goes to FUZZ_BUILD/logs/<target>.log; one line per target is printed. A
# crash, leak, sanitizer report or broken invariant fails the run, prints
# the log's tail and the command that reproduces it. Exit status: 0 when
# every target passed.
set -euo pipefail

if [ "$#" -lt 4 ]; then
  echo "usage: $0 FUZZ_BUILD runs|time|smoke N TARGET..." >&2
  exit 2
fi
build=$1 mode=$2 n=$3
shift 3
case "$mode" in
  runs|smoke) limit=(-runs="$n") ;;
  time) limit=(-max_total_time="$n") ;;
  *) echo "$0: mode must be runs, time or smoke" >&2; exit 2 ;;
esac

mkdir -p "$build/logs" "$build/crashes" "$build/corpus"
failed=()
for t in "$@"; do
  seeds="tests/fuzz/corpus/${t#fuzz_}"
  scratch="$build/corpus/$t"
  if [ ! -d "$seeds" ]; then
    echo "fuzz: $t has no seed corpus at $seeds" >&2
    failed+=("$t")
    continue
  fi
  extra=()
  if [ "$mode" = smoke ]; then
    rm -rf "$scratch"
    extra=(-seed=1)
  fi
  mkdir -p "$scratch"
  log="$build/logs/$t.log"
  start=$SECONDS
  # -timeout: one input taking this long is a hang; -rss_limit_mb bounds
  # memory; the first corpus directory is the one libFuzzer writes to.
  if "$build/$t" "${limit[@]}" "${extra[@]}" -timeout=60 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
       "$scratch" "$seeds" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    printf 'fuzz: %-20s ok  %8s inputs  %-10s %3ss\n' "$t" "${execs:-?}" "${cov:-}" "$((SECONDS - start))"
  else
    echo "fuzz: $t FAILED (log: $log)" >&2
    tail -n 40 "$log" >&2
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ -n "$artifact" ]; then
      echo "fuzz: reproduce with: $build/$t $artifact" >&2
    fi
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
