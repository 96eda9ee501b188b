#!/usr/bin/env bash
# npm start: install what is missing, build the UI and the app, open the window.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/bootstrap.sh run
npm run --silent ui:build
# --all-targets keeps the build cache shared with `npm test` (same feature set, no rebuilds).
cargo build --workspace --all-targets --quiet
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "Tideline is built, but this machine has no display." >&2
  echo "Run it under a virtual one:  xvfb-run -a npm start" >&2
  echo "The CLI works without one:   $CARGO_TARGET_DIR/debug/tideline --help" >&2
  exit 1
fi
# The app opens on the demo database: a local cluster with sample data, WAL archiving and a
# base backup (created on the first run, started on later ones).
if ! "$CARGO_TARGET_DIR/debug/tideline" demo; then
  echo "The demo database could not be started (above); the app opens without it." >&2
fi
exec "$CARGO_TARGET_DIR/debug/tideline-app"
