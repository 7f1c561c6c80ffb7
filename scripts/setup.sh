#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine to build and test k3ts: Debian's docker.io and podman,
# Node 24 (the npm package `node`) and pnpm, a running dockerd, the workspace's dependencies,
# and the local test images (no registry is needed). Safe to run twice. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_PREFIX=${K3TS_NODE_PREFIX:-/opt/k3ts-node}
NODE_VERSION=24
PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]' 2>/dev/null || echo 10.34.8)

log() { printf '\n== %s\n' "$*" >&2; }

log "system packages"
export DEBIAN_FRONTEND=noninteractive
# docker-registry: the distribution registry (the program of the registry:2 image) for k3ts-test/registry:2.
# golang-github-containernetworking-plugin-dnsname: container DNS for Podman's CNI backend (a Recommends
# of podman, so --no-install-recommends leaves it out, and containers then cannot resolve each other).
# containerd, runc: the real containerd of the k3s stand-in's image (docker.io depends on both; named
# here because the stand-in copies their binaries); etcd-server, etcd-client: its real etcd (HA).
pkgs=(docker.io podman catatonit golang-github-containernetworking-plugin-dnsname busybox-static nginx-light libnginx-mod-stream ca-certificates docker-registry containerd runc etcd-server etcd-client)
missing=()
for p in "${pkgs[@]}"; do
  # "rc" (removed, config kept) also answers dpkg -s: only "install ok installed" counts.
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Only its binary is wanted: a host registry daemon the package may have started is stopped.
if pgrep -x docker-registry >/dev/null; then /etc/init.d/docker-registry stop >/dev/null 2>&1 || pkill -x docker-registry || true; fi
# The same for a host etcd (its init script only: k3s stand-in nodes run etcd processes too).
if [ -x /etc/init.d/etcd ] && /etc/init.d/etcd status >/dev/null 2>&1; then /etc/init.d/etcd stop >/dev/null 2>&1 || true; fi

log "Node ${NODE_VERSION} and pnpm ${PNPM_VERSION} into ${NODE_PREFIX}"
if ! "${NODE_PREFIX}/node_modules/.bin/node" -e 'process.exit(+process.versions.node.split(".")[0] === '"${NODE_VERSION}"' ? 0 : 1)' 2>/dev/null \
  || [ "$("${NODE_PREFIX}/node_modules/.bin/pnpm" --version 2>/dev/null)" != "${PNPM_VERSION}" ]; then
  mkdir -p "${NODE_PREFIX}"
  npm install --prefix "${NODE_PREFIX}" --no-audit --no-fund --loglevel=error "node@${NODE_VERSION}" "pnpm@${PNPM_VERSION}" >/dev/null
fi
# /usr/local/bin comes before /usr/bin on PATH, so Node 24 shadows the system's Node 20.
ln -sf "${NODE_PREFIX}/node_modules/.bin/node" /usr/local/bin/node
ln -sf "${NODE_PREFIX}/node_modules/.bin/pnpm" /usr/local/bin/pnpm
ln -sf "${NODE_PREFIX}/node_modules/.bin/pnpx" /usr/local/bin/pnpx
hash -r
node --version >&2
pnpm --version >&2

log "Podman configuration"
# This sandbox's capability bounding set lacks CAP_SYS_RESOURCE, so Podman's default rlimits
# cannot be applied; syslog is not reachable either. Both are machine settings, not product code.
# The network backend is pinned: CNI with the dnsname plugin gives container DNS and ports published
# on 127.0.0.1; netavark + aardvark-dns gave DNS but no published ports on 127.0.0.1 on these machines.
# Left unset, podman picks by what else is installed and what containers exist, so it is not left to chance.
mkdir -p /etc/containers
conf=$(cat <<'CONF'
# k3ts-ci v2: written by scripts/setup.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
events_logger = "file"
[network]
network_backend = "cni"
CONF
)
if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$conf" ]; then
  if [ -f /etc/containers/containers.conf ] && ! grep -q k3ts-ci /etc/containers/containers.conf; then
    cp /etc/containers/containers.conf "/etc/containers/containers.conf.before-k3ts.$(date +%s)"
  fi
  printf '%s\n' "$conf" > /etc/containers/containers.conf
fi

log "dockerd"
if ! docker info >/dev/null 2>&1; then
  (dockerd >/var/log/k3ts-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null || { tail -20 /var/log/k3ts-dockerd.log >&2; exit 1; }
fi
podman info --format '{{.Version.Version}}' >&2

log "workspace dependencies"
CI=true pnpm install --frozen-lockfile --reporter=silent

log "test images"
pnpm --silent fixtures

log "the machine"
bash scripts/check-machine.sh
