#!/usr/bin/env bash
# Ends `make test`: counts what passed and failed in the cargo test log, and when cargo failed,
# says why in the last lines (a CI page often shows only those): the compiler's errors, the
# tests that failed and their panics, a test binary that died of a signal, and the free disk.
#
#   scripts/test-summary.sh LOG STATUS
set -uo pipefail
log=$1
status=$2

awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
[ "$status" = 0 ] && exit 0

echo "cargo test failed (exit $status). Why, from $log:"
# Compiler and linker errors with a few lines of context each.
grep -n -A4 -E '^error(\[E[0-9]+\])?:' "$log" | grep -v -E '^[0-9]+-\s*$' | head -40
# A test binary that did not finish (killed, aborted, overflowed its stack).
grep -n -E 'process didn.t exit successfully|signal: [0-9]+|has overflowed its stack|fatal runtime error|No space left|Cannot allocate memory' "$log" | head -10
# The failing tests and where they panicked.
grep -n -E "^---- .* stdout ----$|panicked at|^    [a-z_:0-9]+$" "$log" | head -30
df -h "$(dirname "$log")" | tail -n 1 | awk '{ print "disk: " $4 " free of " $2 " (" $6 ")" }'
free -m | awk '/^Mem:/ { print "memory: " $7 " MiB available of " $2 }'
exit "$status"
