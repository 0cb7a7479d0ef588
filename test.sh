#!/usr/bin/env bash
# The whole test suite, on a fresh machine with only the Rust toolchain: installs what the
# tests need from Debian's packages when it is missing, then runs every test of every crate.
#
#   ./test.sh                 # everything
#   ./test.sh -p sluice-engine --test log_damage   # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

# Debian packages the tests use, by the command they provide:
#   redis-server: the Redis serving store's and the Redis Streams connector's tests start
#                 their own server on a free port;
#   nats-server:  the NATS JetStream connector's tests start their own server (JetStream on,
#                 its store in a temporary directory) on a free port;
#   chromium:     the web UI's tests load it in headless Chromium and read the rendered page.
needed=()
command -v redis-server >/dev/null || needed+=(redis-server)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || needed+=(nats-server)
command -v chromium >/dev/null || needed+=(chromium)
if [ ${#needed[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "test.sh: installing ${needed[*]} (apt-get)" >&2
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${needed[@]}" >/dev/null
fi

if [ $# -gt 0 ]; then
  exec cargo test --no-fail-fast "$@"
fi
exec cargo test --workspace --no-fail-fast
