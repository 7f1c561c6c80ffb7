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
 */

/** Where the entrypoint lives in the node (the image's /bin, beside /bin/k3s). */
export const NODE_ENTRYPOINT = "/bin/k3ts-entrypoint.sh";

export const NODE_ENTRYPOINT_SCRIPT = `#!/bin/sh
# k3ts node entrypoint (written by k3ts before the node starts; see @k3ts/core cluster/entrypoint.ts).
say() { echo "k3ts-entrypoint: $*" >&2; }

# Pods with Bidirectional/HostToContainer mount propagation need / to be shared.
mount --make-rshared / 2>/dev/null || say "mount --make-rshared / failed (not privileged?): pods cannot use mount propagation"

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

exec /bin/k3s "$@"
`;
