#!/usr/bin/env bash
# WAL scanning: the native reader (`tideline wal inspect`, CRC-32C checked, every commit parsed)
# against `pg_waldump --rmgr=Transaction` on the same uncompressed segments of bulk-load WAL
# from one PostgreSQL 15 cluster; also the native reader over the same segments as the
# repository stores them (zstd). Never run in CI.
#
#   bash bench/wal_scan.sh [WAL_MB] [RUNS] [SHAPE]   (defaults: 1100 MB of WAL, 5 runs, wide)
#
# SHAPE wide: realistic order rows (text, numeric, jsonb; ~300-byte records, index builds'
# page images). SHAPE narrow: two-integer rows with a primary key (~70-byte records, many
# more per GB, which is what costs pg_waldump most).
#
# Writes the "WAL scan (SHAPE)" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. bench/common.sh
WAL_MB="${1:-1100}"
RUNS="${2:-5}"
SHAPE="${3:-wide}"
BIN=/usr/lib/postgresql/15/bin
TL="$CARGO_TARGET_DIR/release/tideline"

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-walbench-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home"
as_pg=(runuser -u postgres --)
chown postgres "$work"
"${as_pg[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=8GB -c wal_keep_size=4GB" start >/dev/null
trap '"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

start=$(psql -d postgres -Atc "SELECT pg_current_wal_lsn()")
echo "writing ${WAL_MB} MB of WAL…" >&2
batch=0
while :; do
  written=$(psql -d postgres -Atc "SELECT (pg_current_wal_lsn() - '$start') / 1048576")
  [ "${written%.*}" -ge "$WAL_MB" ] && break
  batch=$((batch + 1))
  if [ "$SHAPE" = narrow ]; then
    psql -d postgres -c "CREATE TABLE IF NOT EXISTS narrow (id bigint PRIMARY KEY, v int)" \
      -c "INSERT INTO narrow SELECT g, g FROM generate_series(($batch - 1) * 1000000 + 1, $batch * 1000000) g" >/dev/null
  else
    generate_orders 400000 1 postgres >/dev/null 2>&1 || true
    psql -d postgres -c "ALTER TABLE orders_1 RENAME TO orders_done_$batch" >/dev/null
  fi
done
end=$(psql -d postgres -Atc "SELECT pg_current_wal_lsn()")
psql -d postgres -Atc "SELECT pg_switch_wal()" >/dev/null
psql -d postgres -c CHECKPOINT >/dev/null
first=$(psql -d postgres -Atc "SELECT pg_walfile_name('$start')")
last=$(psql -d postgres -Atc "SELECT pg_walfile_name('$end')")
mkdir -p "$work/wal" "$work/zst"
for f in "$work"/data/pg_wal/0*; do
  n=$(basename "$f")
  [ ${#n} -eq 24 ] && [[ ! "$n" < "$first" ]] && [[ ! "$n" > "$last" ]] && cp "$f" "$work/wal/$n"
done
nsegs=$(ls "$work/wal" | wc -l)
for f in "$work"/wal/*; do zstd -q -1 "$f" -o "$work/zst/$(basename "$f").zst"; done
WAL_BYTES=$(size_of "$work/wal")
sync

for run in $(seq 1 "$RUNS"); do
  t0=$(now); TZ=UTC "$BIN/pg_waldump" --rmgr=Transaction --path="$work/wal" --start="$start" --end="$end" > "$work/waldump.txt" 2> "$work/waldump.err" || true; t1=$(now)
  record pg_waldump "$(echo "$t1 - $t0" | bc)" "$WAL_BYTES"
  t0=$(now); "$TL" wal inspect "$work"/wal/* --json > "$work/native.json"; t1=$(now)
  record native "$(echo "$t1 - $t0" | bc)" "$WAL_BYTES"
  t0=$(now); "$TL" wal inspect "$work"/wal/* --no-crc --json > /dev/null; t1=$(now)
  record native_no_crc "$(echo "$t1 - $t0" | bc)" "$WAL_BYTES"
  t0=$(now); "$TL" wal inspect "$work"/zst/* --json > /dev/null; t1=$(now)
  record native_zstd "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/zst")"
done
# wal-push as archive_command runs it, whole process per segment, now also summarising each
# segment (reading the one before it back from the archive).
segs=$(ls "$work/wal" | head -20)
npush=$(echo "$segs" | wc -l)
for run in $(seq 1 "$RUNS"); do
  rm -rf "$work/walrepo"; sync
  t0=$(now)
  for s in $segs; do "$TL" wal-push --repo "$work/walrepo" --pgdata "$work/data" "$work/wal/$s"; done
  t1=$(now)
  record wal_push "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/walrepo")"
done
summaries=$(ls "$work"/walrepo/clusters/*/wal/*.json | wc -l)
mbps=$(echo "scale=0; $npush * 16 / $(m wal_push)" | bc)
commits_waldump=$(grep -c "desc: COMMIT" "$work/waldump.txt" || true)
if [ -s "$work/waldump.err" ]; then echo "pg_waldump said:" >&2; tail -3 "$work/waldump.err" >&2; fi
# The native reader reads whole segments, so the first one's earlier commits (initdb's) too.
commits_native=$(python3 -c '
import json, sys
lsn = lambda s: (int(s.split("/")[0], 16) << 32) | int(s.split("/")[1], 16)
r = json.load(open(sys.argv[1]))
print(sum(1 for t in r["transactions"] if t["outcome"] == "commit" and lsn(sys.argv[2]) <= lsn(t["lsn"]) < lsn(sys.argv[3])))
' "$work/native.json" "$start" "$end")

records=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["records"])' "$work/native.json")
section=$(mktemp)
{
  echo "<!-- walscan-$SHAPE:start -->"
  echo "## WAL scan ($SHAPE rows)"
  echo
  echo "Written by \`bench/wal_scan.sh\`. Medians of $RUNS runs; every raw run is listed."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL 15 (Debian) server and pg_waldump"
  echo "- data: $nsegs segments, $((WAL_BYTES / 1024 / 1024)) MiB of bulk-load WAL ($SHAPE rows), $records records; commits seen: pg_waldump $commits_waldump, native $commits_native"
  echo "- pg_waldump: $(python3 -c "print(round($(m pg_waldump) / ($WAL_BYTES / 2**30), 2))") s per GiB"
  echo
  echo "| what | median s | size MiB | raw runs (s) |"
  echo "|---|---|---|---|"
  for k in pg_waldump native native_no_crc native_zstd; do
    echo "| $k | $(m $k) | $((${sizes[$k]} / 1024 / 1024)) | ${times[$k]} |"
  done
  echo "| wal_push with summaries ($npush segments, $summaries summaries) | $(m wal_push) | $((${sizes[wal_push]} / 1024 / 1024)) | ${times[wal_push]} |"
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| pg_waldump --rmgr=Transaction / native scan, CRC checked like pg_waldump (speed-up) | $(ratio "$(m pg_waldump)" "$(m native)") | ≥ 4 |"
  echo "| pg_waldump --rmgr=Transaction / native scan without per-record CRC (speed-up) | $(ratio "$(m pg_waldump)" "$(m native_no_crc)") | (≥ 4) |"
  echo "| wal-push MB/s of WAL with summaries, whole process per segment | $mbps | ≥ 200 |"
  echo "<!-- walscan-$SHAPE:end -->"
} > "$section"
write_section "walscan-$SHAPE" "$section"
