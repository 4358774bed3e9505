#!/usr/bin/env bash
# Runs the whole test suite with the clock set to chosen dates (Debian's libfaketime), to show
# that no test depends on today's date. Usage: scripts/test-on-dates.sh ['YYYY-MM-DD HH:MM:SS' ...]
# The tests, the jobs and every Node.js child see the chosen date. The embedded PostgreSQL keeps
# the real clock: under libfaketime 0.9.10 its lock_timeout never fires (a 500 ms lock_timeout
# was still waiting after 27 s), which hangs every test of a blocked lock. So the server's own
# now() is not moved; what this shows is that no test or job takes the date from the host.
# Default: the 1st, 2nd and 28th of a month, and 31 December late in the evening (UTC), when it is
# already the next year in Korea.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v faketime >/dev/null; then
  echo "installing faketime (Debian package) for the date runs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
dates=("$@")
[ ${#dates[@]} -gt 0 ] || dates=('2027-03-01 00:20:00' '2027-03-02 09:00:00' '2027-02-28 15:00:00' '2026-12-31 23:30:00')
failed=0
for at in "${dates[@]}"; do
  log="$(mktemp)"
  echo "== test suite with the clock at $at UTC"
  # '@' starts the clock at that instant and lets it run, so timeouts still work.
  if TZ=UTC FAKETIME_SKIP_CMDS=postgres,initdb,pg_ctl faketime -f "@$at" npx vitest run >"$log" 2>&1; then rc=0; else rc=$?; fi
  grep -E "Test Files|Tests |Duration" "$log" | sed 's/\x1b\[[0-9;]*m//g'
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -E "FAIL|×" "$log" | sed 's/\x1b\[[0-9;]*m//g' | head -20
  fi
  rm -f "$log"
done
exit "$failed"
