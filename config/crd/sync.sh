#!/usr/bin/env bash
# Copies the generated CRD (crds/mcpendpoints.kubemcp.io.yaml) to the places
# that cannot reference it directly: the kustomize base (config/crd/) and the
# Helm chart (charts/kube-mcp/crds/). Run after regenerating the CRD:
#   cargo run -p kube-mcp-operator -- crd > crds/mcpendpoints.kubemcp.io.yaml
#   config/crd/sync.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src="$root/crds/mcpendpoints.kubemcp.io.yaml"
if [[ ! -s "$src" ]]; then
  echo "sync.sh: $src is missing or empty; generate it first" >&2
  exit 1
fi
for dst in "$root/config/crd/mcpendpoints.kubemcp.io.yaml" \
           "$root/charts/kube-mcp/crds/mcpendpoints.kubemcp.io.yaml"; do
  cp "$src" "$dst"
  echo "synced ${dst#"$root"/}"
done
