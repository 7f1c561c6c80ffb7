import { describe, expect, it } from "vitest";
import { K3tsError, REDACTED, redactSecrets } from "../src/errors.js";

describe("secrets in what errors carry", () => {
  it("toJSON redacts values under secret-naming keys, KEY=VALUE with such a key, and a --token/--password flag's value", () => {
    const err = new K3tsError("COMMAND_FAILED", "podman create failed", {
      meta: {
        argv: ["create", "--env", "REGISTRY_PROXY_PASSWORD=hunter2", "--env", "A=b", "--token", "s3cret", "--name", "r"],
        token: "s3cret",
        registry: { proxy: { password: "hunter2", username: "me" } },
        node: "k3ts-dev-server-0",
      },
    });
    const json = JSON.stringify(err);
    expect(json).not.toContain("hunter2");
    expect(json).not.toContain("s3cret");
    expect(err.toJSON().meta).toEqual({
      argv: ["create", "--env", `REGISTRY_PROXY_PASSWORD=${REDACTED}`, "--env", "A=b", "--token", REDACTED, "--name", "r"],
      token: REDACTED,
      registry: { proxy: { password: REDACTED, username: "me" } },
      node: "k3ts-dev-server-0",
    });
    // The error itself still holds what it was given (a program may need it); only its data form is redacted.
    expect(err.meta.token).toBe("s3cret");
  });

  it("leaves what is no secret alone", () => {
    const plain = { argv: ["ps", "--all", "--filter", "label=k3ts.io/cluster=dev"], env: ["PATH=/bin"], count: 3, name: "dev" };
    expect(redactSecrets(plain)).toEqual(plain);
  });
});
