#!/usr/bin/env bash
# Proves that this machine can run k3ts's tests, before they run: every fact the suite depends on is
# checked here and a missing one fails with a one-line reason (a missing install step must fail the
# same way on every machine, never pass because this one happened to have it). Run by setup.sh.
#
#   Node 24 and the pnpm of package.json on PATH; dockerd answering; Podman on the network backend
#   setup.sh pins; on each engine, two containers on a user network that resolve each other by name
#   and connect, and a port published on 127.0.0.1 that answers from the host.
#
# Needs the test images (pnpm fixtures). Podman reads CONTAINERS_CONF as usual, so the checks can be
# pointed at another configuration (scripts/check-machine.test.sh does, to see them fail).
set -uo pipefail
cd "$(dirname "$0")/.."

fail() { printf 'check-machine: FAIL %s\n' "$*" >&2; exit 1; }
ok() { printf 'check-machine: ok   %s\n' "$*" >&2; }

want_node=24
want_backend=cni
want_pnpm=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' package.json)

node_version=$(node --version 2>/dev/null) || fail "node is not on PATH (scripts/setup.sh installs Node ${want_node})"
[ "${node_version#v}" != "${node_version#v${want_node}.}" ] || fail "node on PATH is ${node_version}, not Node ${want_node} ($(command -v node); /usr/local/bin must come first on PATH)"
pnpm_version=$(pnpm --version 2>/dev/null) || fail "pnpm is not on PATH (scripts/setup.sh installs pnpm ${want_pnpm})"
[ "$pnpm_version" = "$want_pnpm" ] || fail "pnpm on PATH is ${pnpm_version}, package.json wants ${want_pnpm}"
ok "node ${node_version}, pnpm ${pnpm_version}"

docker_version=$(docker version --format '{{.Server.Version}}' 2>/dev/null) || fail "dockerd does not answer on $(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || echo /var/run/docker.sock)"
ok "docker engine ${docker_version}"

backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) || fail "podman info fails: $(podman info 2>&1 | tail -1)"
[ "$backend" = "$want_backend" ] || fail "podman's network backend is ${backend}, not ${want_backend} (network_backend in /etc/containers/containers.conf, written by scripts/setup.sh)"
ok "podman $(podman version --format '{{.Client.Version}}'), network backend ${backend}"

id="k3ts-machine-check-$$"
cleanup() {
  local e
  for e in docker podman; do
    # One name at a time: podman removes none when one is missing. httpd as PID 1 ignores SIGTERM,
    # and podman would wait 10 s for it, so it is killed at once.
    "$e" rm -f $([ "$e" = podman ] && echo --time 0) "${id}-a" >/dev/null 2>&1
    "$e" rm -f $([ "$e" = podman ] && echo --time 0) "${id}-b" >/dev/null 2>&1
    "$e" network rm "${id}" >/dev/null 2>&1
  done
}
trap cleanup EXIT

# The client is the stand-in image's node binary: busybox-static's own name lookups crash.
probe='const dns = require("node:dns"), net = require("node:net");
dns.lookup(process.argv[1], (err, address) => {
  if (err) { console.log(`cannot resolve ${process.argv[1]}: ${err.code}`); process.exit(1); }
  const s = net.connect(8080, address, () => { console.log(address); s.end(); process.exit(0); });
  s.on("error", (e) => { console.log(`resolved ${process.argv[1]} to ${address} but cannot connect: ${e.code}`); process.exit(1); });
});
setTimeout(() => { console.log("no answer in 10 s"); process.exit(1); }, 10000);'

for engine in docker podman; do
  cleanup
  "$engine" network create "${id}" >/dev/null 2>&1 || fail "${engine} cannot create a network: $("$engine" network create "${id}" 2>&1 | tail -1)"
  if [ "$engine" = podman ]; then
    dns=$(podman network inspect --format '{{.DNSEnabled}}' "${id}" 2>/dev/null)
    [ "$dns" = true ] || fail "podman (${backend}) creates networks without DNS (dns_enabled ${dns}): containers cannot resolve each other by name; install golang-github-containernetworking-plugin-dnsname (scripts/setup.sh does)"
  fi
  "$engine" run -d --name "${id}-a" --network "${id}" -p 127.0.0.1::8080 k3ts-test/busybox:1 httpd -f -p 8080 -h /www >/dev/null 2>&1 \
    || fail "${engine} cannot run k3ts-test/busybox:1 (pnpm fixtures builds it): $("$engine" logs "${id}-a" 2>&1 | tail -1)"
  said=$("$engine" run --rm --name "${id}-b" --network "${id}" --entrypoint /usr/local/bin/node k3ts-test/k3s-standin:2 -e "$probe" "${id}-a" 2>&1) \
    || fail "${engine}: a container cannot reach another by name on a user network: ${said##*$'\n'}"
  port=$("$engine" port "${id}-a" 8080/tcp 2>/dev/null | head -1)
  node -e 'const s = require("node:net").connect(+process.argv[2], process.argv[1], () => process.exit(0)); s.on("error", () => process.exit(1)); setTimeout(() => process.exit(1), 5000);' "${port%:*}" "${port##*:}" \
    || fail "${engine}: port 8080 published on ${port:-127.0.0.1 (no port reported)} does not answer from the host"
  ok "${engine}: containers resolve each other by name (${said}), a port published on ${port} answers"
done
cleanup
trap - EXIT
