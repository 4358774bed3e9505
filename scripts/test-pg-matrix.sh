#!/usr/bin/env bash
# The database-facing tests on every other PostgreSQL major the embedded server offers (14 runs
# in `npm test`). Each major gets its own embedded server (DBOPS_TEST_PG_MAJOR); a failing file
# in any major fails the script. The CI budget (20 minutes for all of .ci/run on 2 cores) does not
# hold every file four more times, so the newest majors, where the catalog changed most (17:
# MAINTAIN, pg_stat_checkpointer, pg_stat_statements 1.11; 18: btree skip scan), run every job's
# file, and 15 and 16 the files that read the catalog and statistics. version-upgrade rehearses
# against a real server of a later major (17 from 15 and 16, 18 from 17); on 18 there is none, so
# only its target check runs there (vitest counts the rest as skipped). Usage:
#   scripts/test-pg-matrix.sh            # the CI matrix below
#   scripts/test-pg-matrix.sh 16         # one major, the CI choice of files for it
#   scripts/test-pg-matrix.sh 16 all     # one major, every database-facing file
set -euo pipefail
cd "$(dirname "$0")/.."

# Every job's database-facing file, and the migrations and runner.
ALL=(
  test/migrations.test.ts test/runner.test.ts
  test/jobs/backup-verification.test.ts test/jobs/backup-verification-daily.test.ts
  test/jobs/cost-check.test.ts test/jobs/failover-check.test.ts
  test/jobs/health-check.test.ts test/jobs/health-check-business.test.ts test/jobs/health-check-platform.test.ts
  test/jobs/install-verification.test.ts
  test/jobs/partition-maintenance.test.ts test/jobs/partition-maintenance-archive.test.ts
  test/jobs/password-rotation.test.ts test/jobs/password-rotation-dual.test.ts
  test/jobs/password-rotation-faults.test.ts test/jobs/password-rotation-log.test.ts
  test/jobs/security-audit.test.ts test/jobs/security-audit-log-analytics.test.ts
  test/jobs/stats-refresh.test.ts
  test/jobs/version-upgrade.test.ts
)
# The files whose SQL reads catalogs, statistics views, privileges and extensions.
CATALOG=(
  test/migrations.test.ts test/runner.test.ts
  test/jobs/backup-verification-daily.test.ts
  test/jobs/health-check.test.ts test/jobs/health-check-platform.test.ts
  test/jobs/install-verification.test.ts
  test/jobs/partition-maintenance.test.ts
  test/jobs/password-rotation.test.ts
  test/jobs/security-audit.test.ts
  test/jobs/stats-refresh.test.ts
  test/jobs/version-upgrade.test.ts
)

files_for() {
  case "$1" in
    17 | 18) echo "${ALL[@]}" ;;
    15 | 16) echo "${CATALOG[@]}" ;;
    *) echo "scripts/test-pg-matrix.sh: no file choice for PostgreSQL $1 (use 15, 16, 17 or 18)" >&2; return 2 ;;
  esac
}

majors="${1:-15 16 17 18}"
failed=()
summary=()
for major in $majors; do
  if [ "${2:-}" = all ]; then files="${ALL[*]}"; else files="$(files_for "$major")"; fi
  for f in $files; do
    # vitest runs the files that exist and says nothing of a missing one: a renamed file must fail here.
    [ -f "$f" ] || { echo "scripts/test-pg-matrix.sh: $f does not exist; update its lists" >&2; exit 2; }
  done
  echo "PostgreSQL $major: $(wc -w <<<"$files") files: $files"
  log="$(mktemp "${TMPDIR:-/tmp}/dbops-pg$major-XXXX.log")"
  start=$SECONDS
  if DBOPS_TEST_PG_MAJOR="$major" npx vitest run $files >"$log" 2>&1; then status=passed; else status=FAILED; failed+=("$major"); fi
  tests="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ +Tests ' | tail -1 | sed -E 's/^ +Tests +//' || true)"
  summary+=("PostgreSQL $major: $status, $(wc -w <<<"$files") files, tests ${tests:-none reported}, $((SECONDS - start)) s")
  if [ "$status" = FAILED ]; then sed 's/\x1b\[[0-9;]*m//g' "$log" | tail -120; fi
  echo "${summary[-1]} (log: $log)"
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "the database-facing tests failed on PostgreSQL ${failed[*]}" >&2
  exit 1
fi
