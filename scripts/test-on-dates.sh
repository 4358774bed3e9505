#!/usr/bin/env bash
# Runs the whole test suite with every clock moved (Debian's libfaketime): the tests, the jobs,
# the Azure stand-in and the embedded PostgreSQL all see the chosen date.
# Usage: scripts/test-on-dates.sh ['YYYY-MM-DD HH:MM:SS' ...] [-- vitest arguments]
#   (UTC; default: the 1st, 2nd and 28th of a month and 31 December late in the evening, when it
#   is already the next year in Korea; vitest arguments, e.g. test files, narrow the run)
#
# The clock is an offset from the real one ("+N" seconds), not a start time ("@…"): with a start
# time every new process starts the clock again, so the server, the workers and the certificate
# the stand-in made disagree by the seconds between their starts.
#
# libfaketime 0.9.10 stops faking the clock while a thread blocks in epoll_wait, poll, select or
# a sleep; PostgreSQL's SIGALRM handler runs inside those waits, reads the real clock and never
# fires lock_timeout or statement_timeout. scripts/faketime-waits.c, compiled here and loaded
# before libfaketime, takes those waits from the C library directly.
#
# File modification times are not moved (the kernel writes them), so nothing may judge log files
# by them: security-audit picks its csvlog files by the log's own timestamps.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ ! -e "$lib" ]; then
  echo "installing faketime (Debian package) for the date runs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund

dates=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do dates+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#dates[@]} -gt 0 ] || dates=('2027-03-01 00:20:00' '2027-03-02 09:00:00' '2027-02-28 15:00:00' '2026-12-31 23:30:00')

# In a folder every user can read: as root the embedded server runs as the postgres user.
shim_dir="$(mktemp -d)"
trap 'rm -rf "$shim_dir"' EXIT
chmod 755 "$shim_dir"
cc -shared -fPIC -O2 -Wall -o "$shim_dir/faketime-waits.so" scripts/faketime-waits.c -ldl

failed=0
for at in "${dates[@]}"; do
  log="$(mktemp)"
  offset=$(( $(date -u -d "$at" +%s) - $(date -u +%s) ))
  echo "== npx vitest run $* with every clock at $at UTC"
  started=$(date +%s)
  if TZ=UTC LD_PRELOAD="$shim_dir/faketime-waits.so:$lib" FAKETIME="+${offset}" npx vitest run "$@" >"$log" 2>&1; then rc=0; else rc=$?; fi
  grep -E "Test Files|Tests |Duration" "$log" | sed 's/\x1b\[[0-9;]*m//g'
  echo "   exit $rc after $(( $(date +%s) - started )) s"
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -E "FAIL|×" "$log" | sed 's/\x1b\[[0-9;]*m//g' | head -30
  fi
  rm -f "$log"
done
exit "$failed"
