/**
 * The entrypoint of every k3s node: what k3s needs of its container before it starts, which the
 * engine does not give it (k3d ships scripts for the same reasons). Written into each node before it
 * starts; it ends by exec'ing the image's own /bin/k3s with the node's command.
 *
 * - cgroup v2: the kubelet can only delegate controllers below a root cgroup that holds no process.
 *   k3s empties it itself only when it is PID 1 outside a user namespace (k3s
 *   pkg/cli/cmds/init_linux.go); k3s nodes run under an init (docker-init/catatonit) and rootless
 *   engines run them in a user namespace, so the entrypoint moves every process into a child cgroup
 *   and enables the controllers for the subtree (k3s issue #4085).
 * - Mount propagation: pods that ask for Bidirectional or HostToContainer mounts (CSI node plugins)
 *   need / to be a shared mount; containers get a private one.
 * - Pod DNS on Docker: a node on a user network resolves through Docker's embedded DNS at
 *   127.0.0.11, which answers only inside the node's own network namespace. k3s refuses a loopback
 *   resolver for pods and gives them `nameserver 8.8.8.8` instead (pkg/agent/config/config.go), so
 *   pods would resolve neither what the host resolves (corporate DNS, where 8.8.8.8 is blocked) nor
 *   the network's containers. As kind and k3d do, the entrypoint points Docker's DNAT rules at the
 *   network gateway's address too (for the node and, through PREROUTING, for pods) and puts that
 *   address in resolv.conf, which k3s then keeps and CoreDNS forwards to. Without iptables or the
 *   privilege to change them it says so and leaves resolv.conf alone. Other engines (Podman's
 *   dnsname or aardvark-dns answer on the gateway already) are left as they are.
 */

/** A /proc/meminfo for a node with a memory limit, which the entrypoint mounts over the real one. */
export const NODE_MEMINFO = "/etc/rancher/k3ts/meminfo";

/**
 * What the kubelet (cAdvisor) reads for the node's memory capacity: /proc/meminfo, which in a
 * container shows the host's memory whatever the limit (k3d fakes it the same way).
 */
export function fakeMeminfo(bytes: number): string {
  const kb = Math.floor(bytes / 1024);
  return ["MemTotal", "MemFree", "MemAvailable"].map((k) => `${`${k}:`.padEnd(16)}${String(kb).padStart(8)} kB`).join("\n") + "\n";
}

/** Where the entrypoint lives in the node (the image's /bin, beside /bin/k3s). */
export const NODE_ENTRYPOINT = "/bin/k3ts-entrypoint.sh";

export const NODE_ENTRYPOINT_SCRIPT = `#!/bin/sh
# k3ts node entrypoint (written by k3ts before the node starts; see @k3ts/core cluster/entrypoint.ts).
say() { echo "k3ts-entrypoint: $*" >&2; }

# Pods with Bidirectional/HostToContainer mount propagation need / to be shared.
mount --make-rshared / 2>/dev/null || say "mount --make-rshared / failed (not privileged?): pods cannot use mount propagation"

# A memory limit the kubelet can see: it reads /proc/meminfo, which shows the host's memory.
if [ -f ${NODE_MEMINFO} ]; then
  mount --bind ${NODE_MEMINFO} /proc/meminfo 2>/dev/null || say "cannot mount ${NODE_MEMINFO} over /proc/meminfo (not privileged?): the kubelet sees the host's memory, not the limit"
fi

# cgroup v2: empty the root cgroup (k3s does it itself only as PID 1 outside a user namespace).
cg=/sys/fs/cgroup
if [ -f "$cg/cgroup.controllers" ]; then
  if mkdir -p "$cg/init" 2>/dev/null; then
    tries=0
    while [ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && [ "$tries" -lt 20 ]; do
      for pid in $(cat "$cg/cgroup.procs"); do echo "$pid" > "$cg/init/cgroup.procs" 2>/dev/null; done
      tries=$((tries + 1))
    done
    for c in $(cat "$cg/cgroup.controllers"); do
      echo "+$c" > "$cg/cgroup.subtree_control" 2>/dev/null || say "cannot enable the $c cgroup controller"
    done
  else
    say "cannot create $cg/init (cgroup v2 not writable): the kubelet will not start"
  fi
fi

# Docker's embedded DNS (127.0.0.11) for pods: reachable at the gateway's address (kind's and k3d's fix).
dns=127.0.0.11
if grep -q "^nameserver $dns" /etc/resolv.conf 2>/dev/null; then
  hex=$(awk '$2 == "00000000" && $3 != "00000000" { print $3; exit }' /proc/net/route 2>/dev/null)
  gw=""
  [ -n "$hex" ] && gw="$((0x$(echo "$hex" | cut -c7-8))).$((0x$(echo "$hex" | cut -c5-6))).$((0x$(echo "$hex" | cut -c3-4))).$((0x$(echo "$hex" | cut -c1-2)))"
  rules=$(iptables-save -t nat 2>/dev/null)
  if [ -z "$gw" ]; then
    say "no default route: pods resolve through k3s's fallback (8.8.8.8)"
  elif ! echo "$rules" | grep -q DOCKER_OUTPUT; then
    say "cannot read Docker's DNS rules (iptables missing, or not privileged): pods resolve through k3s's fallback (8.8.8.8)"
  elif echo "$rules" | sed -e "s/-d $dns/-d $gw/g" -e 's/^-A OUTPUT \\(.*\\) -j DOCKER_OUTPUT$/&\\n-A PREROUTING \\1 -j DOCKER_OUTPUT/' -e "s/--to-source :53/--to-source $gw:53/g" | iptables-restore 2>/dev/null; then
    # resolv.conf is mounted by the engine: rewritten in place, not replaced.
    sed "s/^nameserver $dns/nameserver $gw/" /etc/resolv.conf > /tmp/k3ts-resolv.conf && cat /tmp/k3ts-resolv.conf > /etc/resolv.conf && rm -f /tmp/k3ts-resolv.conf
  else
    say "cannot change Docker's DNS rules (not privileged?): pods resolve through k3s's fallback (8.8.8.8)"
  fi
fi

exec /bin/k3s "$@"
`;
