# Shared by the benchmarks: timing and recording helpers, and realistic rows (random text, numbers, jsonb) in TABLES tables of
# database DB, each with a primary key and an index — pgbench's tables compress ~35× and
# flatter compression. Needs a `psql` function that connects to the server.
#
#   generate_orders ROWS TABLES DB

# A free TCP port on the loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# json_field KEY: KEY of the JSON object on stdin.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

generate_orders() {
  local rows=$1 tables=$2 db=$3 t
  for t in $(seq 1 "$tables"); do
    psql -d "$db" -c "
    CREATE TABLE orders_$t (id bigint PRIMARY KEY, customer text, amount numeric(12,2), created timestamptz,
                            payload jsonb, note text);
    INSERT INTO orders_$t
    SELECT g, 'customer-' || (random() * 100000)::int, round((random() * 1000)::numeric, 2),
           now() - random() * interval '365 days',
           jsonb_build_object('sku', md5(random()::text), 'qty', (random() * 10)::int,
                              'tags', jsonb_build_array(md5(random()::text), (random() * 100)::int)),
           substr(md5(random()::text) || md5(random()::text) || md5(random()::text), 1, (random() * 96)::int)
    FROM generate_series(1, $rows / $tables) g;
    CREATE INDEX ON orders_$t (customer);" -c "VACUUM ANALYZE orders_$t"
  done
}

# pgbackrest_conf WORK PORT: a pgBackRest configuration for the cluster in WORK/data on PORT
# (full backups compressed with zst level 1, two processes), its repository and log under
# WORK/pgbr owned by postgres; prints the configuration file's path.
pgbackrest_conf() {
  local work=$1 port=$2
  mkdir -p "$work/pgbr/repo" "$work/pgbr/log" && chown -R postgres "$work/pgbr"
  cat > "$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr/repo
log-path=$work/pgbr/log
compress-type=zst
compress-level=1
process-max=2
start-fast=y
[bench]
pg1-path=$work/data
pg1-port=$port
pg1-socket-path=$work
CONF
  chmod 644 "$work/pgbackrest.conf"
  echo "$work/pgbackrest.conf"
}

now() { date +%s.%N; }
# Every timed step starts alike: no dirty buffers or pending checkpoint left by the step before,
# and no autovacuum worker still busy with what it wrote (≤ 60 s): a worker left running takes
# CPU from the next step, whichever that is.
# Three idle readings in a row, as one worker may end just before the next starts.
settle() {
  local i idle=0
  for i in $(seq 1 600); do
    if [ "$(psql -d postgres -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ]; then
      idle=$((idle + 1)); [ "$idle" -ge 3 ] && break
    else
      idle=0
    fi
    sleep 0.1
  done
  [ "$idle" -ge 3 ] || echo "settle: autovacuum still busy after 60 s; timing anyway" >&2
  psql -d postgres -c CHECKPOINT; sync
}
declare -A times sizes
# record NAME SECONDS BYTES: one raw run.
record() { times[$1]+="$2 "; sizes[$1]="$3"; }
size_of() { du -sb "$1" | cut -f1; }
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {printf "%.9f\n", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
m() { median "${times[$1]}"; }
# Rounded, not truncated: 1.0385 is 1.04.
ratio() { printf '%.2f' "$(echo "scale=6; $1 / $2" | bc)"; }
# paired A B: the median of A's run i over B's run i (runs that took turns going first), rounded.
paired() {
  local a=(${times[$1]}) b=(${times[$2]}) r=() i
  for i in "${!a[@]}"; do r+=("$(echo "scale=6; ${a[$i]} / ${b[$i]}" | bc)"); done
  printf '%.2f' "$(median "${r[*]}")"
}
# write_section NAME FILE: replaces docs/benchmarks.md's <!-- NAME:start/end --> section with
# FILE (added before "## Notes" the first time), then prints it.
write_section() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, new = sys.argv[1], open(sys.argv[2]).read().strip()
path = "docs/benchmarks.md"
text = open(path).read()
pattern = re.compile(r"<!-- %s:start -->.*?<!-- %s:end -->" % (name, name), re.S)
text = pattern.sub(lambda _: new, text) if pattern.search(text) else text.replace("## Notes", new + "\n\n## Notes", 1)
open(path, "w").write(text)
PY
  sed -n "/$1:start/,/$1:end/p" docs/benchmarks.md
}

# start_garage WORK BUCKET: a three-node Garage cluster (replication factor 3) on the loopback
# under WORK/g0..g2 with bucket BUCKET and a key allowed on it; sets `endpoint`, `key_id` and
# `key_secret`. Needs G (the garage binary). stop_garage WORK ends it.
start_garage() {
  local work=$1 bucket=$2 secret i id
  secret=$(head -c32 /dev/urandom | xxd -p -c64)
  for i in 0 1 2; do
    mkdir -p "$work/g$i"
    cat > "$work/g$i/garage.toml" <<CONF
metadata_dir = "$work/g$i/meta"
data_dir = "$work/g$i/data"
db_engine = "sqlite"
replication_factor = 3
rpc_bind_addr = "127.0.0.1:$(free_port)"
rpc_secret = "$secret"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$(free_port)"
root_domain = ".s3.garage.localhost"
CONF
    sed -i "s/^rpc_bind_addr = \(.*\)$/rpc_bind_addr = \1\nrpc_public_addr = \1/" "$work/g$i/garage.toml"
    RUST_LOG=garage=warn "$G" -c "$work/g$i/garage.toml" server >"$work/g$i/log" 2>&1 &
  done
  gar() { "$G" -c "$work/g0/garage.toml" "$@"; }
  for _ in $(seq 1 100); do gar node id -q >/dev/null 2>&1 && break; sleep 0.1; done
  for i in 1 2; do
    for _ in $(seq 1 100); do id=$("$G" -c "$work/g$i/garage.toml" node id -q 2>/dev/null) && break; sleep 0.1; done
    gar node connect "$id" >/dev/null
  done
  for i in 0 1 2; do id=$("$G" -c "$work/g$i/garage.toml" node id -q); gar layout assign -z dc1 -c 1G "${id%@*}" >/dev/null; done
  gar layout apply --version 1 >/dev/null
  endpoint="http://$(sed -n 's/^api_bind_addr = "\(.*\)"/\1/p' "$work/g0/garage.toml")"
  for _ in $(seq 1 100); do gar bucket create "$bucket" >/dev/null 2>&1 && break; sleep 0.2; done
  gar key create "$bucket-key" >/dev/null
  gar bucket allow --read --write --owner "$bucket" --key "$bucket-key" >/dev/null
  local info
  info=$(gar key info "$bucket-key" --show-secret)
  key_id=$(echo "$info" | sed -n 's/^ *Key ID: *//p')
  key_secret=$(echo "$info" | sed -n 's/^ *Secret key: *//p')
}
stop_garage() { pkill -f "$1/g" || true; }
