#!/usr/bin/env bash
# Builds the Pulumi CLI from its Go modules (its release binaries cannot be downloaded on these machines) into
# ${TICKSTREAM_PULUMI_HOME:-.tickstream/pulumi}/bin/pulumi, once: a binary that already reports the version
# pinned in go.mod is kept. About 7 minutes and 1.6 GB of modules on 2 cores the first time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/pulumi/pulumi/pkg/v3") { print $(i + 1); exit } }' "$here/go.mod")"
if [ -z "$version" ]; then
  echo "ops/pulumi-cli/go.mod does not require github.com/pulumi/pulumi/pkg/v3" >&2
  exit 1
fi
home="${TICKSTREAM_PULUMI_HOME:-$repo/.tickstream/pulumi}"
binary="$home/bin/pulumi"
if [ -x "$binary" ] && [ "$("$binary" version 2>/dev/null)" = "$version" ]; then
  echo "Pulumi CLI $version ready in $binary"
  exit 0
fi
echo "Building the Pulumi CLI $version from its Go modules into $binary (once; several minutes)"
cd "$here"
# Without the version linked in, `pulumi version` prints nothing and the Automation API refuses the CLI.
go build -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$binary" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
echo "Pulumi CLI $("$binary" version) ready in $binary"
