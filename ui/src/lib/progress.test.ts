import { describe, expect, it } from "vitest";

import { progressLabel } from "./progress";

describe("progressLabel", () => {
  it("counts what is done while the total is unknown", () => {
    expect(progressLabel({ phase: "fetching tenants", done: 1200, total: null, unit: "tenants" })).toBe(
      "Fetching tenants: 1,200 tenants",
    );
  });

  it("gives a percentage once the total is known, never past 100", () => {
    expect(progressLabel({ phase: "copying", done: 2, total: 5, unit: "files" })).toBe("Copying: 40%");
    expect(progressLabel({ phase: "copying", done: 9, total: 5, unit: "files" })).toBe("Copying: 100%");
  });
});
