#!/usr/bin/env bash
# Physical backup benchmarks: Tideline's base backup against the same pg_basebackup by hand,
# the guide's `pg_basebackup -Ft -z`, and pgBackRest 2.45 from Debian (full, zst level 1,
# process-max 2) on one PostgreSQL 15 cluster; and wal-push's throughput per 16 MB segment,
# whole process included. Never run in CI.
#
#   bash bench/physical.sh [ROWS] [RUNS]        (defaults: 9000000 rows ≈ 2.6 GB, 5 runs)
#
# Writes the "Physical backups" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. bench/common.sh
ROWS="${1:-9000000}"
RUNS="${2:-5}"
BIN=/usr/lib/postgresql/15/bin
TL="$CARGO_TARGET_DIR/release/tideline"
command -v pgbackrest >/dev/null || apt-get install -y -qq pgbackrest >/dev/null

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-pbench-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home"
as_pg=(runuser -u postgres --)
chown postgres "$work"
"${as_pg[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
PORT=$(free_port)
pgbackrest_conf "$work" "$PORT" >/dev/null
pgbr=("${as_pg[@]}" pgbackrest --config="$work/pgbackrest.conf" --stanza=bench)
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB -c archive_mode=on \
  -c archive_command='pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push %p'" start >/dev/null
trap '"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "generating $ROWS rows…" >&2
TABLES=8
generate_orders "$ROWS" "$TABLES" postgres
psql -d postgres -c CHECKPOINT
DB_BYTES=$(du -sb "$work/data" | cut -f1)
"${pgbr[@]}" stanza-create >/dev/null

"$TL" profile add bench --url "postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable" --no-password >/dev/null
"$TL" tools --add-dir "$BIN" >/dev/null


for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS" >&2
  rm -rf "$work/guide"
  settle; t0=$(now); "$BIN/pg_basebackup" -D "$work/guide" -Ft -z -X stream -c fast; t1=$(now)
  record guide_ftz "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/guide")"
  settle; t0=$(now); out=$("$TL" basebackup bench --json); t1=$(now)
  dir=$(echo "$out" | json_field path)
  record tideline_default "$(echo "$t1 - $t0" | bc)" "$(size_of "$dir/data")"
  # The same pg_basebackup command Tideline ran, by hand.
  cmd=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
print(" ".join(a for a in m["command"][1:] if not a.startswith("--pgdata=") and a not in ("--progress", "--verbose")))' "$dir")
  rm -rf "$work/same"
  settle; t0=$(now); "$BIN/pg_basebackup" -D "$work/same" $cmd; t1=$(now)
  record same_by_hand "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/same")"
  settle; t0=$(now); "${pgbr[@]}" --type=full backup >/dev/null; t1=$(now)
  record pgbackrest "$(echo "$t1 - $t0" | bc)" "$(du -sb "$work/pgbr/repo/backup" | cut -f1)"
  "${pgbr[@]}" expire --repo1-retention-full=1 >/dev/null 2>&1 || true
  rm -rf "$dir"; "$TL" repo rescan >/dev/null
done

# wal-push: whole process per segment (start, read, compress, fsync, link), as archive_command runs it.
segs=$(ls "$work/data/pg_wal" | grep -E '^[0-9A-F]{24}$' | head -20)
nsegs=$(echo "$segs" | wc -l)
for run in $(seq 1 "$RUNS"); do
  rm -rf "$work/walrepo"; sync
  t0=$(now)
  for s in $segs; do "$TL" wal-push --repo "$work/walrepo" --pgdata "$work/data" "$work/data/pg_wal/$s"; done
  t1=$(now)
  record wal_push "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/walrepo")"
done

mbps=$(echo "scale=0; $nsegs * 16 / $(m wal_push)" | bc)

section=$(mktemp)
{
  echo "<!-- physical:start -->"
  echo "## Physical backups"
  echo
  echo "Written by \`bench/physical.sh\`. Medians of $RUNS runs; every raw run is listed."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL 15 (Debian) server and tools; pgBackRest $(pgbackrest version | awk '{print $2}')"
  echo "- data: $ROWS realistic rows in $TABLES tables; cluster $((DB_BYTES / 1024 / 1024)) MiB"
  echo
  echo "| what | median s | size MiB | raw runs (s) |"
  echo "|---|---|---|---|"
  for k in guide_ftz tideline_default same_by_hand pgbackrest; do
    echo "| $k | $(m $k) | $((${sizes[$k]} / 1024 / 1024)) | ${times[$k]} |"
  done
  echo "| wal_push ($nsegs segments) | $(m wal_push) | $((${sizes[wal_push]} / 1024 / 1024)) | ${times[wal_push]} |"
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| Tideline default / the same pg_basebackup by hand | $(ratio "$(m tideline_default)" "$(m same_by_hand)") | ≤ 1.03 |"
  echo "| guide \`-Ft -z\` / Tideline default (speed-up) | $(ratio "$(m guide_ftz)" "$(m tideline_default)") | ≥ 8 |"
  echo "| Tideline default size / guide \`-Ft -z\` size | $(ratio "${sizes[tideline_default]}" "${sizes[guide_ftz]}") | ≤ 1.05 |"
  echo "| Tideline default / pgBackRest (time) | $(ratio "$(m tideline_default)" "$(m pgbackrest)") | ≤ 1.00 |"
  echo "| wal-push MB/s of WAL, whole process per segment | $mbps | ≥ 200 |"
  echo "<!-- physical:end -->"
} > "$section"
write_section physical "$section"
