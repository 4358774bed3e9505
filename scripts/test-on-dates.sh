#!/usr/bin/env bash
# Runs date-sensitive test files with the whole stack's clock moved (Debian's libfaketime): the
# tests, the jobs, the Azure stand-in and the embedded PostgreSQL all see the chosen date.
# Usage: scripts/test-on-dates.sh ['YYYY-MM-DD HH:MM:SS' ...]   (UTC; default: the 1st, 2nd and
# 28th of a month and 31 December late in the evening, when it is already the next year in Korea)
#
# The clock is an offset from the real one ("+N" seconds), not a start time ("@…"): with a start
# time every new process starts the clock again, so the server, the workers and the certificate
# the stand-in made disagree by the seconds between their starts.
#
# Only the files below run. Under libfaketime 0.9.10 the server's own timers stop firing (a 500 ms
# lock_timeout was still waiting after 55 s), so every test that waits for a lock_timeout,
# statement_timeout or idle timeout hangs; those files are left out and named when the script
# starts. File modification times are not moved (the kernel writes them), so nothing may judge log
# files by them: security-audit picks its csvlog files by the log's own timestamps. Faking only the test process instead (FAKETIME_SKIP_CMDS=postgres) is no proof either:
# data laid with the server's now() is then judged by a job clock months away (106 failures).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v faketime >/dev/null; then
  echo "installing faketime (Debian package) for the date runs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
files=(
  test/jobs/install-verification.test.ts
  test/jobs/cost-check.test.ts
  test/jobs/cost-check-analysis.test.ts
  test/jobs/backup-verification-daily.test.ts
  test/jobs/backup-verification.test.ts
  test/jobs/password-rotation.test.ts
  test/jobs/security-audit.test.ts
  test/jobs/security-audit-logs.test.ts
)
echo "date runs: ${files[*]}"
echo "left out: the files whose tests wait for a server-side timeout (lock_timeout, statement_timeout), which libfaketime stops from firing: partition-maintenance, runner, password-rotation-faults, stats-refresh, health-check, maintenance-api, cli, version-upgrade"
dates=("$@")
[ ${#dates[@]} -gt 0 ] || dates=('2027-03-01 00:20:00' '2027-03-02 09:00:00' '2027-02-28 15:00:00' '2026-12-31 23:30:00')
failed=0
for at in "${dates[@]}"; do
  log="$(mktemp)"
  offset=$(( $(date -u -d "$at" +%s) - $(date -u +%s) ))
  echo "== ${#files[@]} files with every clock at $at UTC"
  if TZ=UTC faketime -f "+${offset}" npx vitest run "${files[@]}" >"$log" 2>&1; then rc=0; else rc=$?; fi
  grep -E "Test Files|Tests |Duration" "$log" | sed 's/\x1b\[[0-9;]*m//g'
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -E "FAIL|×" "$log" | sed 's/\x1b\[[0-9;]*m//g' | head -20
  fi
  rm -f "$log"
done
exit "$failed"
