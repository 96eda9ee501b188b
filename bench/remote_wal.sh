#!/usr/bin/env bash
# WAL into a bucket: `tideline wal-push --repo-config` as archive_command runs it (one whole
# process per 16 MB segment: read, check, zstd -1, age-encrypt, the .b3, the PUT, the summary)
# into a three-node Garage cluster on the loopback, against the raw tools on the same
# segments (`zstd -1` each, then one boto3 process PUTting them all) and against wal-push into
# a local directory. Never run in CI.
#
#   bash bench/remote_wal.sh [SEGMENTS] [RUNS]        (defaults: 20 segments, 5 runs)
#
# Writes the "WAL into a bucket" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${GNOME_KEYRING_CONTROL:-}" ]; then
  exec dbus-run-session -- bash scripts/with-keyring.sh bash "$0" "$@"
fi
. scripts/env.sh
. bench/common.sh
SEGMENTS="${1:-20}"
RUNS="${2:-5}"
BIN=/usr/lib/postgresql/15/bin
TL="$CARGO_TARGET_DIR/release/tideline"
G="$TIDELINE_GARAGE"

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-s3bench-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home"
as_pg=(runuser -u postgres --)
chown postgres "$work"
"${as_pg[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
PORT=$(free_port)
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c max_wal_size=8GB -c wal_keep_size=4GB" start >/dev/null
trap 'stop_garage "$work"; "${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "writing WAL…" >&2
start=$(psql -d postgres -Atc "SELECT pg_current_wal_lsn()")
batch=0
while [ "$(psql -d postgres -Atc "SELECT ((pg_current_wal_lsn() - '$start') / 16777216)::int")" -lt $((SEGMENTS + 1)) ]; do
  batch=$((batch + 1))
  generate_orders 200000 1 postgres >/dev/null 2>&1 || true
  psql -d postgres -c "ALTER TABLE orders_1 RENAME TO orders_done_$batch" >/dev/null
done
psql -d postgres -Atc "SELECT pg_switch_wal()" >/dev/null
first=$(psql -d postgres -Atc "SELECT pg_walfile_name('$start')")
mkdir -p "$work/wal"
for f in "$work"/data/pg_wal/0*; do
  n=$(basename "$f")
  [ ${#n} -eq 24 ] && [[ "$n" > "$first" ]] && cp "$f" "$work/wal/$n"
done
segs=$(ls "$work/wal" | head -"$SEGMENTS")
nsegs=$(echo "$segs" | wc -l)

echo "starting Garage…" >&2
start_garage "$work" walbench
# The raw tools: zstd -1 each segment, then one boto3 process PUTs them all (no per-file
# process start: a lower bound).
upload_raw() {
  python3 - "$endpoint" "$key_id" "$key_secret" "$1" "$2" <<'PY'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="garage", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
for name in sorted(os.listdir(sys.argv[4])):
    with open(os.path.join(sys.argv[4], name), "rb") as f:
        s3.put_object(Bucket="walbench", Key=f"{sys.argv[5]}/{name}", Body=f.read())
PY
}

for run in $(seq 1 "$RUNS"); do
  # A fresh prefix and repository each run: wal-push never overwrites.
  "$TL" repo add "run$run" --s3 "s3://walbench/run$run" --endpoint "$endpoint" --region garage --path-style \
    --access-key-id "$key_id" --recovery-kit "$work/kit$run.age" --json >/dev/null <<<"$key_secret
benchmark passphrase"
  "$TL" repo test "run$run" --json >/dev/null
  "$TL" repo wal-config "run$run" --out "$work/cfg$run.json" --json >/dev/null
  sync
  t0=$(now)
  for s in $segs; do "$TL" wal-push --repo-config "$work/cfg$run.json" --pgdata "$work/data" "$work/wal/$s"; done
  t1=$(now)
  record s3_push "$(echo "$t1 - $t0" | bc)" 0
  rm -rf "$work/zst"; mkdir -p "$work/zst"; sync
  t0=$(now)
  for s in $segs; do zstd -q -1 "$work/wal/$s" -o "$work/zst/$s.zst"; done
  upload_raw "$work/zst" "raw$run"
  t1=$(now)
  record raw "$(echo "$t1 - $t0" | bc)" 0
  rm -rf "$work/walrepo"; sync
  t0=$(now)
  for s in $segs; do "$TL" wal-push --repo "$work/walrepo" --pgdata "$work/data" "$work/wal/$s"; done
  t1=$(now)
  record local_push "$(echo "$t1 - $t0" | bc)" 0
  # Reading them back, as a recovery does: restore_command's way (one wal-fetch process per
  # segment from the bucket) against bringing them home side by side first (PITR's way).
  "$TL" repo wal-config "run$run" --out "$work/fetch$run.json" --with-identity --json >/dev/null
  rm -rf "$work/fetched"; mkdir -p "$work/fetched"; sync
  t0=$(now)
  for s in $segs; do "$TL" wal-fetch --repo-config "$work/fetch$run.json" --pgdata "$work/data" "$s" "$work/fetched/$s"; done
  t1=$(now)
  record s3_fetch "$(echo "$t1 - $t0" | bc)" 0
  "$TL" repo add "home$run" --dir "$work/home$run" --json >/dev/null
  sync
  t0=$(now)
  "$TL" repo sync "run$run" "home$run" --json >/dev/null
  t1=$(now)
  record bring_home "$(echo "$t1 - $t0" | bc)" 0
  cmp "$work/fetched/$(echo "$segs" | head -1)" "$work/wal/$(echo "$segs" | head -1)"
done
mbps() { echo "scale=0; $nsegs * 16 / $(m "$1")" | bc; }
section=$(mktemp)
{
  echo "<!-- remote-wal:start -->"
  echo "## WAL into a bucket"
  echo
  echo "Written by \`bench/remote_wal.sh\`. $nsegs segments of 16 MB of order-row WAL (PostgreSQL 15), a three-node Garage 2.5 cluster on the loopback (replication factor 3), medians of $RUNS runs; every raw run is listed."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "- s3_push: \`tideline wal-push --repo-config\` per segment, one process each, encrypted (age), with its .b3 and summary"
  echo "- raw: \`zstd -1\` per segment, then one boto3 process PUTting them all (no encryption, no summary)"
  echo "- local_push: \`tideline wal-push --repo DIR\` per segment"
  echo "- s3_fetch: \`tideline wal-fetch --repo-config\` per segment from the bucket, one process each (restore_command's way), decrypted and decompressed"
  echo "- bring_home: \`tideline repo sync\` of the same segments (with their .b3 and summaries) from the bucket to a folder, four files side by side: how PITR brings WAL home before replay"
  echo
  echo "| what | median (s) | MB/s of WAL | raw runs (s) |"
  echo "|---|---|---|---|"
  for k in s3_push raw local_push s3_fetch bring_home; do echo "| $k | $(m $k) | $(mbps $k) | ${times[$k]} |"; done
  echo
  echo "| measure | value | goal |"
  echo "|---|---|---|"
  echo "| wal-push to S3 with encryption, whole process per segment (MB/s of WAL) | $(mbps s3_push) | ≥ 100 |"
  echo "| wal-push to S3 / raw tools | $(ratio "$(m s3_push)" "$(m raw)") | — |"
  echo "| reading WAL back: one wal-fetch per segment / brought home side by side | $(ratio "$(m s3_fetch)" "$(m bring_home)") | — |"
  echo "<!-- remote-wal:end -->"
} > "$section"
write_section remote-wal "$section"
