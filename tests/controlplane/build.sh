#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from the upstream Go modules and caches the
# binaries outside the clone, keyed by version. A second run is a no-op.
#
# Prints the bin directory on stdout's last line; progress goes to stderr.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
CACHE_ROOT="${KUBE_MCP_CACHE:-$HOME/.cache/kube-mcp}"
KEY="k8s-v${K8S_VERSION}-etcd-v${ETCD_VERSION}-kwok-v${KWOK_VERSION}-helm-v${HELM_VERSION}"
OUT="$CACHE_ROOT/controlplane/$KEY"
BIN="$OUT/bin"
WORK="$OUT/src"
export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

say() { printf '[controlplane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -f "$OUT/.complete" ]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN" "$WORK"
say "cache: $OUT (first build takes 15-30 minutes on 2 cores)"

# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/*
# staging module with a local path. A module of our own that requires it and
# points each staging module at its published v0.x.y version builds it instead.
build_k8s() {
  local dir="$WORK/k8s" minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  mkdir -p "$dir"
  local staging
  staging=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module kube-mcp.local/controlplane"
    echo "go 1.26"
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    grep -E '=> \./staging/' "$staging" | awk -v v="v0.${K8S_VERSION#*.}" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  local ver="v$K8S_VERSION" ld
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$ver -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  say "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $ver"
  (cd "$dir" && go build -mod=mod -ldflags "$ld" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
}

# A plain `require` build of a module whose main package we want; ignores the
# module's own replace directives, which is what `go install` trips over.
build_simple() {
  local name="$1" mod="$2" ver="$3" pkg="$4" out="$5"
  local dir="$WORK/$name"
  mkdir -p "$dir"
  printf 'module kube-mcp.local/%s\ngo 1.26\nrequire %s %s\n' "$name" "$mod" "$ver" >"$dir/go.mod"
  say "building $out $ver"
  (cd "$dir" && go build -mod=mod -ldflags "-s -w" -o "$BIN/$out" "$pkg")
}

start=$(date +%s)
[ -x "$BIN/etcd" ] || build_simple etcd go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" go.etcd.io/etcd/server/v3 etcd
[ -x "$BIN/kwok" ] || build_simple kwok sigs.k8s.io/kwok "v$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok kwok
[ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kubectl" ] || build_k8s
[ -x "$BIN/helm" ] || build_simple helm helm.sh/helm/v3 "v$HELM_VERSION" helm.sh/helm/v3/cmd/helm helm
touch "$OUT/.complete"
say "done in $(( $(date +%s) - start ))s: $BIN"
echo "$BIN"
