import { describe, expect, it } from "vitest";
import { VALUE_OPTION_NAMES, specField, valueRow } from "@k3ts/core/internal";
import { FIRST_SPEC_FIELDS, SPEC_FIELDS } from "../src/spec-hash.ts";

describe("the spec hash's fields and core's table of value options", () => {
  it("an option counts for the hash exactly when its row says so", () => {
    for (const option of VALUE_OPTION_NAMES) {
      expect(SPEC_FIELDS.includes(specField(option) as never), option).toBe(valueRow(option).hash);
    }
  });

  it("the first fields keep their place: a kept cluster's hash is made of them in this order", () => {
    expect(SPEC_FIELDS.slice(0, FIRST_SPEC_FIELDS.length)).toEqual([...FIRST_SPEC_FIELDS]);
    expect(SPEC_FIELDS.slice(0, 3)).toEqual(["servers", "agents", "image"]);
  });
});
