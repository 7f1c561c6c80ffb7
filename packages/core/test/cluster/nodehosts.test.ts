import { describe, expect, it } from "vitest";
import { corednsDisabled, mergeNodeHosts } from "../../src/cluster/nodehosts.js";

// NodeHosts as k3s's node controller writes it (pkg/node/controller.go): one line per address, sorted.
const K3S = "172.18.0.3 k3ts-a-server-0\n172.18.0.4 k3ts-a-agent-0\n";

describe("mergeNodeHosts", () => {
  it("adds host.k3ts.internal, aliases and network members in k3s's format, keeping the nodes' lines", () => {
    const { text, managed } = mergeNodeHosts(K3S, [
      { ip: "172.18.0.1", hostnames: ["host.k3ts.internal"] },
      { ip: "10.0.0.9", hostnames: ["db.local", "cache.local"] },
      { ip: "172.18.0.10", hostnames: ["k3ts-reg"] },
    ]);
    expect(text).toBe("10.0.0.9 db.local cache.local\n172.18.0.1 host.k3ts.internal\n172.18.0.3 k3ts-a-server-0\n172.18.0.4 k3ts-a-agent-0\n172.18.0.10 k3ts-reg\n");
    expect(managed).toEqual(["host.k3ts.internal", "db.local", "cache.local", "k3ts-reg"]);
  });

  it("puts two entries for one address on one line (k3s keeps only the last line of an address)", () => {
    const { text } = mergeNodeHosts("", [
      { ip: "10.0.0.9", hostnames: ["a.local"] },
      { ip: "10.0.0.9", hostnames: ["b.local", "A.local"] },
    ]);
    expect(text).toBe("10.0.0.9 a.local b.local\n");
  });

  it("takes out what it wrote before and is no longer wanted, and leaves others' names alone", () => {
    const before = "172.18.0.1 host.k3ts.internal\n172.18.0.3 k3ts-a-server-0\n172.18.0.10 k3ts-old-reg\n192.168.1.5 someone-else\n";
    const { text, managed } = mergeNodeHosts(before, [{ ip: "172.18.0.1", hostnames: ["host.k3ts.internal"] }], ["host.k3ts.internal", "k3ts-old-reg"]);
    expect(text).toBe("172.18.0.1 host.k3ts.internal\n172.18.0.3 k3ts-a-server-0\n192.168.1.5 someone-else\n");
    expect(managed).toEqual(["host.k3ts.internal"]);
  });

  it("moves a name whose address changed (a registry restarted on Podman)", () => {
    const { text } = mergeNodeHosts("172.18.0.10 k3ts-reg\n", [{ ip: "172.18.0.11", hostnames: ["k3ts-reg"] }], ["k3ts-reg"]);
    expect(text).toBe("172.18.0.11 k3ts-reg\n");
  });

  it("is stable: merging again changes nothing", () => {
    const entries = [{ ip: "172.18.0.1", hostnames: ["host.k3ts.internal"] }];
    const once = mergeNodeHosts(K3S, entries);
    expect(mergeNodeHosts(once.text, entries, once.managed).text).toBe(once.text);
  });
});

describe("corednsDisabled", () => {
  it.each([
    [["--disable=coredns"], true],
    [["--disable", "coredns"], true],
    [["--disable=traefik,coredns"], true],
    [["--disable=traefik"], false],
    [["--disable-network-policy"], false],
    [[], false],
  ])("%j → %s", (args, want) => expect(corednsDisabled(args)).toBe(want));
});

describe("mergeNodeHosts after a restart moved addresses around", () => {
  it("drops a node's stale line, so no name of k3ts's lands on an address k3s is about to drop", () => {
    // Before: the LB was .4, agent-1 .5; after the restart agent-1 came back as .4 and the LB as .5,
    // and k3s has not moved agent-1's line yet.
    const stale = "172.18.0.3 k3ts-a-server-0\n172.18.0.5 k3ts-a-agent-1\n172.18.0.4 k3ts-a-serverlb\n";
    const now = new Map([
      ["k3ts-a-server-0", "172.18.0.3"],
      ["k3ts-a-agent-1", "172.18.0.4"],
    ]);
    const { text } = mergeNodeHosts(stale, [{ ip: "172.18.0.5", hostnames: ["k3ts-a-serverlb"] }], ["k3ts-a-serverlb"], now);
    expect(text).toBe("172.18.0.3 k3ts-a-server-0\n172.18.0.5 k3ts-a-serverlb\n");
  });
});
