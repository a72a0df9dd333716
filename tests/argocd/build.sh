#!/usr/bin/env bash
# Builds tests/argocd/main.go (Argo CD's health-check path on gopher-lua) into
# the cache, keyed by the versions below and the program's hash; a second run
# is a no-op. Prints the binary's path on stdout's last line.
#
# The versions are those Argo CD v3.6.0's go.mod pins. The argo-cd module
# itself is not used: it needs Go 1.27 and builds k8s.io/kubernetes.
set -euo pipefail
GOPHER_LUA="v1.1.2"
GOPHER_JSON="v0.0.0-20190114024228-97fed8db8427"
SIGS_YAML="v1.6.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sum="$(sha256sum "$here/main.go" | cut -c1-12)"
OUT="${KUBE_MCP_CACHE:-$HOME/.cache/kube-mcp}/argocd-health/gopher-lua-$GOPHER_LUA-$sum"
if [ ! -x "$OUT/argocd-health" ]; then
  mkdir -p "$OUT/src"
  cp "$here/main.go" "$OUT/src/"
  cat >"$OUT/src/go.mod" <<MOD
module kube-mcp.local/argocd-health
go 1.26
require (
	github.com/yuin/gopher-lua $GOPHER_LUA
	layeh.com/gopher-json $GOPHER_JSON
	sigs.k8s.io/yaml $SIGS_YAML
)
MOD
  echo "[argocd-health] building with gopher-lua $GOPHER_LUA into $OUT" >&2
  (cd "$OUT/src" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w" -o "$OUT/argocd-health" .)
fi
echo "$OUT/argocd-health"
