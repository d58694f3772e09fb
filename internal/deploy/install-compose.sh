#!/usr/bin/env bash
# Builds the Docker Compose v2 CLI plugin from source with the Go toolchain (nothing
# prebuilt is downloaded), so that `docker compose config` can validate docker-compose.yml
# on a machine whose docker client has no compose plugin:
#
#   internal/deploy/install-compose.sh [OUTPUT]     # default OUTPUT: <repo>/bin/docker-compose
#
# COMPOSE_VERSION pins the module version (default below; never "latest"); GO names the go
# command. The module is fetched through the Go module proxy into the module cache and
# built there, the way `go build ./cmd` builds it in its own repository. About 3 minutes
# on 2 cores with a cold cache, seconds when cached. internal/deploy's test links the binary
# as $DOCKER_CONFIG/cli-plugins/docker-compose.
set -euo pipefail

version=${COMPOSE_VERSION:-v2.40.3}
go=${GO:-go}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$repo/bin/docker-compose}
case $out in /*) ;; *) out=$PWD/$out ;; esac
mkdir -p "$(dirname "$out")"

start=$(date +%s)
# Outside any module, so that the repository's go.mod and go.sum are left alone.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
json=$(cd "$tmp" && "$go" mod download -json "github.com/docker/compose/v2@$version") || {
  echo "install-compose: go mod download github.com/docker/compose/v2@$version failed:" >&2
  echo "$json" >&2
  exit 1
}
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/cmd" ]; then
  echo "install-compose: no module directory for github.com/docker/compose/v2@$version in:" >&2
  echo "$json" >&2
  exit 1
fi

echo "install-compose: building docker compose $version from $dir"
(cd "$dir" && CGO_ENABLED=0 "$go" build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
  -o "$out" ./cmd)
echo "install-compose: $out ($("$out" version 2>/dev/null || echo "docker compose $version"), $(($(date +%s) - start)) s)"
