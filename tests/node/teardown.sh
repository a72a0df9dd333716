#!/bin/sh
# Removes what a real node leaves outside its own process group once
# containerd and the kubelet are gone: the runc shims (they leave the group
# on purpose) and the containers under them, the mounts under the node's
# directory, the pods' cgroups, the pod bridge, and this machine's claim
# file. Idempotent; it never touches a process that is not one of this
# node's shims or their children. Usage: teardown.sh NODE_DIR
set -u
D="${1:?usage: teardown.sh NODE_DIR}"
SOCK="$D/containerd/containerd.sock"
BRIDGE="${KUBE_MCP_BRIDGE:-kube-mcp0}"
CLAIM=/run/kube-mcp/real-node

# Our shims name our containerd socket on their command line.
shims=""
for p in /proc/[0-9]*; do
  cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" || continue
  case "$cmd" in
    *containerd-shim*" -address $SOCK "*) shims="$shims ${p#/proc/}" ;;
  esac
done
# A container's init is a child of its shim; killing it ends the container's
# PID namespace, and with it every process in the container.
for s in $shims; do
  for p in /proc/[0-9]*; do
    ppid="$(sed -n 's/^PPid:[[:space:]]*//p' 2>/dev/null <"$p/status")"
    [ "$ppid" = "$s" ] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  kill -KILL "$s" 2>/dev/null
done

# Deepest first: pod volumes, rootfs overlays, network namespaces.
i=0
while [ $i -lt 5 ]; do
  mounts="$(awk -v d="$D/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)"
  [ -z "$mounts" ] && break
  for m in $mounts; do umount -l "$m" 2>/dev/null; done
  i=$((i + 1))
done

# The kubelet's pod cgroups (one real node per machine: the claim says so).
# A cgroup can only go once its processes have exited, which takes a moment.
i=0
while [ $i -lt 20 ]; do
  left=0
  for c in /sys/fs/cgroup/*/kubepods; do
    [ -d "$c" ] || continue
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$c" ] && left=1
  done
  [ $left -eq 0 ] && break
  sleep 0.2
  i=$((i + 1))
done

ip link delete "$BRIDGE" 2>/dev/null
# Shim sockets live in containerd's fixed /run/containerd/s, and a killed
# shim leaves its socket behind: remove those no process is bound to.
for f in /run/containerd/s/*; do
  [ -S "$f" ] || continue
  grep -q " $f\$" /proc/net/unix || rm -f "$f"
done
rmdir /run/containerd/s /run/containerd 2>/dev/null
if [ "$(head -n 1 "$CLAIM" 2>/dev/null)" = "$D" ]; then rm -f "$CLAIM"; rmdir /run/kube-mcp 2>/dev/null; fi
exit 0
