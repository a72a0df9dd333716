#!/usr/bin/env bash
# Builds what a real node needs besides the control plane: kubelet (at the
# control plane's Kubernetes version), containerd, ctr, the runc shim, runc
# and the CNI plugins bridge, host-local and loopback, all from their
# upstream Go modules. Cached
# outside the clone, keyed by version; a second run is a no-op.
#
# Needs Go, a C compiler and libseccomp-dev (runc's seccomp support: pods run
# with the RuntimeDefault profile). Prints the bin directory on stdout's last
# line; progress goes to stderr.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.36.3}"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-2.3.7}"
RUNC_VERSION="${RUNC_VERSION:-1.5.3}"
CNI_VERSION="${CNI_VERSION:-1.10.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${KUBE_MCP_CACHE:-$HOME/.cache/kube-mcp}"
KEY="k8s-v${K8S_VERSION}-containerd-v${CONTAINERD_VERSION}-runc-v${RUNC_VERSION}-cni-v${CNI_VERSION}"
OUT="$CACHE_ROOT/real-node/$KEY"
BIN="$OUT/bin"
WORK="$OUT/src"
# The same flags as tests/controlplane/build.sh, so that the kubelet build
# reuses the packages the control plane build left in Go's build cache.
export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

say() { printf '[node %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -f "$OUT/.complete" ]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN/cni" "$WORK"
say "cache: $OUT (first build takes about 10 minutes on 2 cores)"

# A module of our own that requires the target; ignores the target's own
# replace directives (what `go install` trips over).
wrapper() {
  local name="$1" mod="$2" ver="$3" dir="$WORK/$1"
  mkdir -p "$dir"
  printf 'module kube-mcp.local/%s\ngo 1.26\nrequire %s %s\n' "$name" "$mod" "$ver" >"$dir/go.mod"
  echo "$dir"
}

# k8s.io/kubernetes replaces every k8s.io/* staging module with a local path:
# point each at its published v0.x.y instead (as the control plane build does).
build_kubelet() {
  local dir minor="${K8S_VERSION#*.}" staging ver="v$K8S_VERSION" ld="-s -w"
  minor="${minor%%.*}"
  dir="$(wrapper kubelet k8s.io/kubernetes "$ver")"
  staging=$(go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  grep -E '=> \./staging/' "$staging" | awk -v v="v0.${K8S_VERSION#*.}" '{print "replace " $1 " => " $1 " " v}' >>"$dir/go.mod"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$ver -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  say "building kubelet $ver"
  (cd "$dir" && go build -mod=mod -ldflags "$ld" -o "$BIN/kubelet" k8s.io/kubernetes/cmd/kubelet)
}

build_containerd() {
  local dir m=github.com/containerd/containerd/v2 ver="v$CONTAINERD_VERSION"
  dir="$(wrapper containerd "$m" "$ver")"
  say "building containerd, ctr, containerd-shim-runc-v2 $ver"
  # no_btrfs: that snapshotter needs cgo; pods use overlayfs.
  (cd "$dir" && go build -mod=mod -tags no_btrfs -ldflags "-s -w -X $m/version.Version=$ver" -o "$BIN/" \
    "$m/cmd/containerd" "$m/cmd/ctr" "$m/cmd/containerd-shim-runc-v2")
}

build_runc() {
  local dir m=github.com/opencontainers/runc ver="v$RUNC_VERSION"
  dir="$(wrapper runc "$m" "$ver")"
  say "building runc $ver (cgo, seccomp)"
  # runc's seccomp support is cgo over libseccomp.
  (cd "$dir" && CGO_ENABLED=1 go build -mod=mod -tags seccomp \
    -ldflags "-s -w -X main.version=${RUNC_VERSION}" -o "$BIN/runc" "$m")
}

build_cni() {
  local dir m=github.com/containernetworking/plugins ver="v$CNI_VERSION"
  dir="$(wrapper cni "$m" "$ver")"
  say "building CNI plugins bridge, host-local, loopback $ver"
  (cd "$dir" && go build -mod=mod -ldflags "-s -w" -o "$BIN/cni/" \
    "$m/plugins/main/bridge" "$m/plugins/ipam/host-local" "$m/plugins/main/loopback")
}


command -v pkg-config >/dev/null && pkg-config --exists libseccomp \
  || { say "error: libseccomp-dev (and pkg-config) are needed to build runc"; exit 1; }
start=$(date +%s)

[ -x "$BIN/cni/bridge" ] && [ -x "$BIN/cni/host-local" ] && [ -x "$BIN/cni/loopback" ] || build_cni
[ -x "$BIN/runc" ] || build_runc
[ -x "$BIN/containerd" ] && [ -x "$BIN/ctr" ] && [ -x "$BIN/containerd-shim-runc-v2" ] || build_containerd
[ -x "$BIN/kubelet" ] || build_kubelet
touch "$OUT/.complete"
say "done in $(( $(date +%s) - start ))s: $BIN"
echo "$BIN"
