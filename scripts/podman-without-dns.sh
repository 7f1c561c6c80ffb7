#!/usr/bin/env bash
# Makes a Podman configuration that behaves as a CNI-backed Podman without the dnsname plugin (what
# `apt-get install --no-install-recommends podman` gives on Debian and Ubuntu): this machine's
# containers.conf with cni_plugin_dirs pointing at every CNI plugin but dnsname. Prints its path;
# use it as CONTAINERS_CONF=… to see what k3ts and scripts/check-machine.sh do on such a machine.
#
# Usage: scripts/podman-without-dns.sh DIR
set -euo pipefail
dir=${1:?usage: podman-without-dns.sh DIR}
mkdir -p "$dir/cni"
# Podman's default cni_plugin_dirs (containers.conf(5)).
for src in /usr/local/libexec/cni /usr/libexec/cni /usr/local/lib/cni /usr/lib/cni /opt/cni/bin; do
  [ -d "$src" ] || continue
  for plugin in "$src"/*; do
    name=$(basename "$plugin")
    [ "$name" = dnsname ] || [ -e "$dir/cni/$name" ] || ln -s "$plugin" "$dir/cni/$name"
  done
done
[ -e "$dir/cni/bridge" ] || { echo "podman-without-dns: no CNI bridge plugin found" >&2; exit 1; }
# CONTAINERS_CONF replaces the system file, so everything else in it is kept.
base=/etc/containers/containers.conf
{
  if [ -f "$base" ] && grep -q '^\[network\]' "$base"; then
    sed "s|^\[network\]\$|[network]\ncni_plugin_dirs = [\"$dir/cni\"]|" "$base"
  else
    [ -f "$base" ] && cat "$base"
    printf '[network]\ncni_plugin_dirs = ["%s/cni"]\n' "$dir"
  fi
} > "$dir/containers.conf"
echo "$dir/containers.conf"
