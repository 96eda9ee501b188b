#!/usr/bin/env bash
# Remakes the screenshots README and the user guide show (docs/screenshots) from the window
# tests that take them, in the real window. Commit them when they changed in a way that matters.
#
#   bash scripts/doc-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
npm run --silent ui:build
cargo build --workspace --all-targets --quiet
export TIDELINE_DOC_SCREENSHOTS="$PWD/docs/screenshots"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash scripts/with-keyring.sh \
  cargo test -p tideline-tests -- --include-ignored --test-threads 1 \
  window_timeline:: window_schedule:: window_comfort::
git status --short docs/screenshots
