#!/usr/bin/env bash
# Regenerates argocd-cm.yaml from health.lua (the ConfigMap inlines the script;
# a test in tests/tests/packaging.rs checks the two agree).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
{
  cat <<'HEAD'
# Argo CD health check for kubemcp.io/McpEndpoint. Merge into the argocd-cm
# ConfigMap of your Argo CD install (namespace argocd), e.g.
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file config/argocd/argocd-cm.yaml
# or, with the Argo CD Helm chart, under configs.cm.
# Generated from config/argocd/health.lua by config/argocd/sync.sh: edit the .lua file.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
  resource.customizations.health.kubemcp.io_McpEndpoint: |
HEAD
  sed -e 's/^/    /' -e 's/^ *$//' "$here/health.lua"
} > "$here/argocd-cm.yaml"
echo "wrote config/argocd/argocd-cm.yaml"
