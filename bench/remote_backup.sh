#!/usr/bin/env bash
# Backups and PITR with a bucket: the same backup of one PostgreSQL 15 cluster by a profile
# kept on this computer and by one kept in a three-node Garage cluster on the loopback
# (encrypted: the backup is made here, then uploaded before the command returns), each a whole
# `tideline` process, beside the raw tools (the same command by hand, then boto3); and PITR by
# a second installation that has only the bucket (`repo rescan --repo`, then `pitr`) against
# PITR from the local repository. Never run in CI.
#
#   bash bench/remote_backup.sh [ROWS] [RUNS]        (defaults: 1,000,000 rows, 5 runs)
#
# Writes the "Backups into a bucket" section of docs/benchmarks.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${GNOME_KEYRING_CONTROL:-}" ]; then
  exec dbus-run-session -- bash scripts/with-keyring.sh bash "$0" "$@"
fi
. scripts/env.sh
. bench/common.sh
ROWS="${1:-1000000}"
RUNS="${2:-5}"
BIN=/usr/lib/postgresql/15/bin
TL="$CARGO_TARGET_DIR/release/tideline"
G="$TIDELINE_GARAGE"

cargo build --release -p tideline-cli --quiet
work="$(mktemp -d /tmp/tideline-s3backup-XXXXXX)"
chmod 755 "$work"
export TIDELINE_HOME="$work/home" TIDELINE_SANDBOX_ROOT="$work/sandboxes"
as_pg=(runuser -u postgres --)
chown postgres "$work"
"${as_pg[@]}" "$BIN/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
PORT=$(free_port)
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" start >/dev/null
trap '[ -f "$work/stunnel.pid" ] && kill "$(cat "$work/stunnel.pid")"; stop_garage "$work"; "${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "generating $ROWS rows…" >&2
generate_orders "$ROWS" 4 postgres
psql -d postgres -c CHECKPOINT
DB_BYTES=$(du -sb "$work/data" | cut -f1)

echo "starting Garage…" >&2
start_garage "$work" backupbench
"$TL" tools --add-dir "$BIN" >/dev/null
# Where the server's OS user can reach it (archive_command, a sandbox's restore_command).
"$TL" repo path "$work/repo" >/dev/null
url="postgresql://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
"$TL" profile add here --url "$url" --no-password >/dev/null
"$TL" profile add there --url "$url" --no-password >/dev/null
"$TL" repo add team --s3 "s3://backupbench/team" --endpoint "$endpoint" --region garage --path-style \
  --access-key-id "$key_id" --recovery-kit "$work/kit.age" --json >/dev/null <<<"$key_secret
benchmark passphrase"
"$TL" repo test team --json >/dev/null
"$TL" profile edit there --repo team >/dev/null

# pgBackRest's own S3 repository in the same bucket. It speaks only HTTPS to S3 and Garage
# serves HTTP, so stunnel terminates TLS in front of it (self-signed; verification off).
command -v stunnel4 >/dev/null || apt-get install -y -qq stunnel4 >/dev/null
command -v pgbackrest >/dev/null || apt-get install -y -qq pgbackrest >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls.pem" -out "$work/tls.pem.crt" -subj /CN=127.0.0.1 -days 2 2>/dev/null
cat "$work/tls.pem.crt" >> "$work/tls.pem"
TLS_PORT=$(free_port)
cat > "$work/stunnel.conf" <<CONF
pid = $work/stunnel.pid
[garage]
accept = 127.0.0.1:$TLS_PORT
connect = ${endpoint#http://}
cert = $work/tls.pem
CONF
stunnel4 "$work/stunnel.conf"
mkdir -p "$work/pgbr/log" "$work/pgbr/lock" && chown -R postgres "$work/pgbr"
cat > "$work/pgbackrest-s3.conf" <<CONF
[global]
repo1-type=s3
repo1-path=/pgbackrest
repo1-s3-bucket=backupbench
repo1-s3-endpoint=127.0.0.1
repo1-storage-port=$TLS_PORT
repo1-storage-verify-tls=n
repo1-s3-region=garage
repo1-s3-uri-style=path
repo1-s3-key=$key_id
repo1-s3-key-secret=$key_secret
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=benchmark passphrase
compress-type=zst
compress-level=1
process-max=2
start-fast=y
archive-check=n
log-path=$work/pgbr/log
lock-path=$work/pgbr/lock
[bench]
pg1-path=$work/data
pg1-port=$PORT
pg1-socket-path=$work
CONF
chown postgres "$work/pgbackrest-s3.conf" && chmod 600 "$work/pgbackrest-s3.conf"
pgbr_s3=("${as_pg[@]}" pgbackrest --config="$work/pgbackrest-s3.conf" --stanza=bench)
"${pgbr_s3[@]}" stanza-create >/dev/null

# timed NAME CMD…: one whole process, after settle; sets `made` to the backup's directory.
timed() {
  local name=$1 out t0 t1
  shift
  settle
  t0=$(now)
  out=$("$@")
  t1=$(now)
  record "$name" "$(echo "$t1 - $t0" | bc)" 0
  made=$(echo "$out" | json_field path)
}

# The raw tools: the command Tideline ran (from the manifest) by hand into DIR, then one boto3
# process PUTting every file it wrote (no encryption): what this machine allows.
upload_raw() {
  python3 - "$endpoint" "$key_id" "$key_secret" "$1" "$2" <<'PY'
import boto3, os, sys
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="garage", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
config = TransferConfig(multipart_chunksize=16 << 20, max_concurrency=4)
for root, _, files in os.walk(sys.argv[4]):
    for name in files:
        path = os.path.join(root, name)
        s3.upload_file(path, "backupbench", f"{sys.argv[5]}/{os.path.relpath(path, sys.argv[4])}", Config=config)
PY
}
same_command() {
  python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
skip = ("--progress", "--verbose")
print(" ".join(a for a in m["command"][1:] if a not in skip and not a.startswith(("--pgdata=", "--file=", "--snapshot="))))' "$1"
}
raw() {
  local name=$1 tool=$2 made=$3 flag=$4 args t0 t1
  args=$(same_command "$made")
  rm -rf "$work/raw"
  settle
  t0=$(now)
  "$BIN/$tool" $args "$flag$work/raw" >/dev/null 2>&1
  upload_raw "$work/raw" "raw/$name/$run"
  t1=$(now)
  record "$name" "$(echo "$t1 - $t0" | bc)" 0
}

for run in $(seq 1 "$RUNS"); do
  echo "backups, run $run/$RUNS" >&2
  timed logical_here "$TL" backup here --json
  raw logical_raw pg_dump "$made" --file=
  rm -rf "$made"
  timed logical_bucket "$TL" backup there --json
  rm -rf "$made"
  timed base_here "$TL" basebackup here --json
  raw base_raw pg_basebackup "$made" --pgdata=
  rm -rf "$made"
  timed base_bucket "$TL" basebackup there --json
  rm -rf "$made"
  settle; t0=$(now)
  "${pgbr_s3[@]}" backup --type=full >/dev/null
  t1=$(now)
  record base_pgbackrest "$(echo "$t1 - $t0" | bc)" 0
  "$TL" repo rescan >/dev/null
done

# PITR: WAL archived into this computer's repository, a base backup, a restore point; the
# bucket gets all of it (`repo sync`). From here: `pitr`. From the bucket: a new installation
# with only the bucket and the kit: `repo add`, `repo rescan --repo`, `pitr`.
echo "PITR…" >&2
"$TL" profile edit there --repo local >/dev/null
"$TL" wal setup here --apply --json >/dev/null
"${as_pg[@]}" "$BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-p $PORT -k $work \
  -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" restart >/dev/null
"$TL" wal setup here --apply --json >/dev/null
"$TL" basebackup here --json >/dev/null
psql -d postgres -c "UPDATE orders_1 SET amount = amount + 1" >/dev/null
"$TL" mark here target >/dev/null
psql -d postgres -Atc "SELECT pg_switch_wal()" >/dev/null
sleep 3
"$TL" repo sync local team --json >/dev/null
for run in $(seq 1 "$RUNS"); do
  echo "PITR, run $run/$RUNS" >&2
  settle; t0=$(now)
  id=$("$TL" pitr here --name target --json | json_field id)
  t1=$(now)
  record pitr_here "$(echo "$t1 - $t0" | bc)" 0
  "$TL" sandbox remove "$id" >/dev/null
  rm -rf "$work/home2" "$work/repo2"
  mkdir -p "$work/home2" && chmod 755 "$work/home2"
  # Once per installation, untimed: the bucket with its kit (scrypt takes its second), the tools,
  # the profile.
  TIDELINE_HOME="$work/home2" "$TL" repo add team --s3 "s3://backupbench/team" --endpoint "$endpoint" --region garage \
    --path-style --access-key-id "$key_id" --recovery-kit "$work/kit.age" --json >/dev/null <<<"$key_secret
benchmark passphrase"
  TIDELINE_HOME="$work/home2" "$TL" repo path "$work/repo2" >/dev/null
  TIDELINE_HOME="$work/home2" "$TL" tools --add-dir "$BIN" >/dev/null
  TIDELINE_HOME="$work/home2" "$TL" profile add here --url "$url" --no-password >/dev/null
  settle; t0=$(now)
  TIDELINE_HOME="$work/home2" "$TL" repo rescan --repo team --json >/dev/null
  id=$(TIDELINE_HOME="$work/home2" "$TL" pitr here --name target --json | json_field id)
  t1=$(now)
  record pitr_bucket "$(echo "$t1 - $t0" | bc)" 0
  TIDELINE_HOME="$work/home2" "$TL" sandbox remove "$id" >/dev/null
  TIDELINE_HOME="$work/home2" "$TL" repo remove team >/dev/null
done
"$TL" wal teardown here >/dev/null

section=$(mktemp)
{
  echo "<!-- remote-backup:start -->"
  echo "## Backups into a bucket"
  echo
  echo "Written by \`bench/remote_backup.sh\`. $ROWS order rows in 4 tables (a $((DB_BYTES / 1048576)) MiB cluster, PostgreSQL 15), a three-node Garage 2.5 cluster on the loopback (replication factor 3) on the same 2 cores, encrypted; medians of $RUNS runs, each a whole \`tideline\` process; every raw run is listed."
  echo
  echo "- commit: \`$(git rev-parse --short HEAD)\`, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "- logical_here / base_here: \`tideline backup\` / \`basebackup\` of a profile kept on this computer"
  echo "- logical_bucket / base_bucket: the same for a profile kept in the bucket (\`profile edit --repo\`): made here, uploaded before the command returns (a parallel dump's data files as pg_dump finishes each)"
  echo "- logical_raw / base_raw: the raw tools — the command Tideline ran, by hand, then one boto3 process uploading its files (16 MiB parts, 4 at once; no encryption): what this machine allows"
  echo "- base_pgbackrest: \`pgbackrest backup --type=full\` ($(pgbackrest version)) into its own S3 repository in the same bucket: zst level 1, process-max 2, start-fast, aes-256-cbc (Tideline encrypts too), through stunnel (pgBackRest speaks only HTTPS to S3; Garage serves HTTP); archive-check off (the server does not archive during these runs), so its backup carries no WAL, where Tideline's streams its own"
  echo "- pitr_here: \`tideline pitr --name\` from the local repository to a promoted sandbox"
  echo "- pitr_bucket: a new installation with only the bucket (added with its kit, untimed): \`repo rescan --repo\` (manifests and WAL summaries downloaded and decrypted), then \`pitr --name\` (which brings home the base backup it lays down and the WAL it replays)"
  echo
  echo "| what | median (s) | raw runs (s) |"
  echo "|---|---|---|"
  for k in logical_here logical_bucket logical_raw base_here base_bucket base_raw base_pgbackrest pitr_here pitr_bucket; do echo "| $k | $(m $k) | ${times[$k]} |"; done
  echo
  echo "| measure | value | goal |"
  echo "|---|---|---|"
  echo "| logical backup, bucket / here (paired) | $(paired logical_bucket logical_here) | ≤ 1.15 |"
  echo "| logical backup, raw tools into the bucket / here (paired) | $(paired logical_raw logical_here) | — |"
  echo "| base backup, bucket / here (paired) | $(paired base_bucket base_here) | ≤ 1.15 |"
  echo "| base backup, raw tools into the bucket / here (paired) | $(paired base_raw base_here) | — |"
  echo "| base backup into the bucket, Tideline / pgBackRest's S3 repository (paired) | $(paired base_bucket base_pgbackrest) | ≤ 1.00 |"
  echo "| PITR, bucket / here (paired) | $(paired pitr_bucket pitr_here) | ≤ 1.30 |"
  echo "<!-- remote-backup:end -->"
} > "$section"
write_section remote-backup "$section"
