#!/usr/bin/env bash
# Time in an incident, on one PostgreSQL 15 cluster (Debian's server and tools) archiving
# through Tideline's wal-push and pgBackRest's archive-push at once:
#   - `tideline pitr` to a moment, until the sandbox is promoted, against the guide's manual
#     steps scripted on the same base backup and WAL (unpack base.tar.zst and pg_wal.tar,
#     restore_command = zstd -dc from the repository, recovery.signal, the target, start, wait
#     for promotion);
#   - laying a base backup down: `tideline restore-in-place` against
#     `pgbackrest restore --process-max=2` of a full backup of the same cluster (zst level 1).
# Whole processes, timed from outside; runs take turns going first. Never run in CI.
#
#   bash bench/incident.sh [ROWS] [RUNS]        (defaults: 3000000 rows ≈ 0.9 GB, 5 runs)
#
# Writes the "Time in an incident" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
# Sandboxes keep their superuser password in the keychain: a throwaway one.
if [ -z "${GNOME_KEYRING_CONTROL:-}" ]; then
  exec dbus-run-session -- bash scripts/with-keyring.sh bash "$0" "$@"
fi
. scripts/env.sh
. bench/common.sh
ROWS="${1:-3000000}"
RUNS="${2:-5}"
BIN=/usr/lib/postgresql/15/bin
TL="$CARGO_TARGET_DIR/release/tideline"
command -v pgbackrest >/dev/null || apt-get install -y -qq pgbackrest >/dev/null

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-ibench-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home"
as_pg=(runuser -u postgres --)
mkdir -p "$work/repo"
chown postgres "$work" "$work/repo"
cp "$TL" "$work/tideline" && chmod 755 "$work/tideline"
PORT=$(free_port)
pgbackrest_conf "$work" "$PORT" >/dev/null
pgbr=("${as_pg[@]}" pgbackrest --config="$work/pgbackrest.conf" --stanza=bench)
"${as_pg[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB -c archive_mode=on \
  -c archive_command='$work/tideline wal-push --repo $work/repo %p && pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push %p'" \
  start >/dev/null
manual_stop() { [ -d "$work/manual" ] && "${as_pg[@]}" "$BIN/pg_ctl" -D "$work/manual" -m immediate stop >/dev/null 2>&1 || true; }
trap 'manual_stop; "${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "generating $ROWS rows…" >&2
TABLES=8
generate_orders "$ROWS" "$TABLES" postgres
psql -d postgres -c CHECKPOINT
DB_BYTES=$(du -sb "$work/data" | cut -f1)
sysid=$(psql -d postgres -Atc "SELECT system_identifier FROM pg_control_system()")
wal="$work/repo/clusters/$sysid/wal"

"$TL" profile add bench --url "postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable" --no-password >/dev/null
"$TL" repo path "$work/repo" >/dev/null
"$TL" tools --add-dir "$BIN" >/dev/null
"${pgbr[@]}" stanza-create >/dev/null
laydown_ms=""; replay_ms=""
out=$("$TL" basebackup bench --json)
BACKUP=$(echo "$out" | json_field id)
BACKUP_DIR=$(echo "$out" | json_field path)
"${pgbr[@]}" --type=full backup >/dev/null
BACKUP_BYTES=$(size_of "$BACKUP_DIR")

# WAL to replay, as after a busy morning: a fifth of every table updated; then the moment to
# recover to, and a commit after it (a time target needs one to stop at).
echo "writing WAL to replay…" >&2
for t in $(seq 1 "$TABLES"); do psql -d postgres -c "UPDATE orders_$t SET amount = amount + 1 WHERE id % 5 = 0"; done
TARGET_AT=$(psql -d postgres -Atc "SELECT clock_timestamp() AT TIME ZONE 'UTC'")
# The same moment for each side: RFC 3339 for Tideline, PostgreSQL's own form for the server.
TARGET="$(echo "$TARGET_AT" | tr ' ' 'T')Z"
PG_TARGET="$TARGET_AT+00"
sleep 1
psql -d postgres -c "CREATE TABLE after_target AS SELECT 1 AS x"
last=$(psql -d postgres -Atc "SELECT pg_walfile_name(pg_switch_wal())")
until [ -e "$wal/$last.json" ]; do sleep 0.2; done
REPLAY_BYTES=$(psql -d postgres -Atc "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$(python3 -c '
import json, sys; print(json.load(open(sys.argv[1]))["physical"]["stop_lsn"])' "$BACKUP_DIR/manifest.json")')")

# The guide by hand: unpack, configure, start, wait for promotion.
manual_pitr() {
  local port dir="$work/manual"
  port=$(free_port)
  mkdir -m 700 "$dir"
  tar -I zstd -xf "$BACKUP_DIR/data/base.tar.zst" -C "$dir"
  # pg_wal.tar, compressed or not as pg_basebackup wrote it: tar tells by its first bytes.
  tar -xf "$(ls "$BACKUP_DIR"/data/pg_wal.tar*)" -C "$dir/pg_wal"
  cat >> "$dir/postgresql.auto.conf" <<CONF
restore_command = 'zstd -q -dc $wal/%f.zst > %p'
recovery_target_time = '$PG_TARGET'
recovery_target_action = 'promote'
archive_mode = off
CONF
  touch "$dir/recovery.signal"
  chown -R postgres "$dir"
  "${as_pg[@]}" "$BIN/pg_ctl" -D "$dir" -l "$work/manual.log" -w -t 600 \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
  until [ "$(psql -p "$port" -d postgres -Atc 'SELECT pg_is_in_recovery()')" = f ]; do sleep 0.05; done
}

# The base tar laid down once by hand: restore-in-place wants a stopped cluster of the same system.
mkdir -m 700 "$work/in-place"
tar -I zstd -xf "$BACKUP_DIR/data/base.tar.zst" -C "$work/in-place"
chown -R postgres "$work/in-place"

for run in $(seq 1 "$RUNS"); do
  echo "run $run/$RUNS" >&2
  for who in $( ((run % 2)) && echo "tideline manual" || echo "manual tideline"); do
    settle
    if [ "$who" = tideline ]; then
      t0=$(now); out=$("$TL" pitr bench --time "$TARGET" --from-backup "$BACKUP" --json); t1=$(now)
      record pitr_tideline "$(echo "$t1 - $t0" | bc)" 0
      laydown_ms+="$(echo "$out" | json_field laydown_ms) "; replay_ms+="$(echo "$out" | json_field replay_ms) "
      "$TL" sandbox remove "$(echo "$out" | json_field id)" >/dev/null
    else
      t0=$(now); manual_pitr; t1=$(now)
      record pitr_manual "$(echo "$t1 - $t0" | bc)" 0
      manual_stop; rm -rf "$work/manual"
    fi
  done
  for who in $( ((run % 2)) && echo "tideline pgbackrest" || echo "pgbackrest tideline"); do
    settle
    if [ "$who" = tideline ]; then
      t0=$(now); out=$("$TL" restore-in-place "$BACKUP" --data-dir "$work/in-place" --immediate --yes --json); t1=$(now)
      record laydown_tideline "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/in-place")"
      rm -rf "$(echo "$out" | json_field old_data_dir)"
    else
      rm -rf "$work/pgbr-restore"; mkdir -m 700 "$work/pgbr-restore"; chown postgres "$work/pgbr-restore"
      t0=$(now); "${pgbr[@]}" --pg1-path="$work/pgbr-restore" --process-max=2 --type=immediate restore >/dev/null; t1=$(now)
      record laydown_pgbackrest "$(echo "$t1 - $t0" | bc)" "$(size_of "$work/pgbr-restore")"
    fi
  done
done

section=$(mktemp)
{
  echo "<!-- incident:start -->"
  echo "## Time in an incident"
  echo
  echo "Written by \`bench/incident.sh\`. Medians of $RUNS runs, whole processes timed from outside; every raw run is listed; Tideline and the other side take turns going first."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL 15 (Debian) server and tools; pgBackRest $(pgbackrest version | awk '{print $2}')"
  echo "- data: $ROWS realistic rows in $TABLES tables; cluster $((DB_BYTES / 1024 / 1024)) MiB; Tideline's base backup $((BACKUP_BYTES / 1024 / 1024)) MiB (tar, zstd:1); $((REPLAY_BYTES / 1024 / 1024)) MiB of WAL from the backup to the target (a fifth of every table updated)"
  echo
  echo "| what | median s | raw runs (s) |"
  echo "|---|---|---|"
  for k in pitr_tideline pitr_manual laydown_tideline laydown_pgbackrest; do echo "| $k | $(m $k) | ${times[$k]} |"; done
  echo
  echo "Inside \`tideline pitr\` (its own figures, ms): lay-down $laydown_ms; replay until promoted $replay_ms."
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| \`tideline pitr\` → promoted sandbox / the guide's steps by hand | $(ratio "$(m pitr_tideline)" "$(m pitr_manual)") | ≤ 1.20 |"
  echo "| the same, median of each run's own ratio | $(paired pitr_tideline pitr_manual) | ≤ 1.20 |"
  echo "| \`tideline restore-in-place\` / \`pgbackrest restore --process-max=2\` | $(ratio "$(m laydown_tideline)" "$(m laydown_pgbackrest)") | ≤ 1.00 |"
  echo "| the same, median of each run's own ratio | $(paired laydown_tideline laydown_pgbackrest) | ≤ 1.00 |"
  echo "<!-- incident:end -->"
} > "$section"
write_section incident "$section"
