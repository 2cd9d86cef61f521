import { describe, expect, it } from "vitest";
import { matrixLabel } from "./runs";

describe("matrixLabel", () => {
  it("names a single model and persona and counts several", () => {
    expect(matrixLabel(["openai/gpt-5-mini"], ["teacher"])).toBe("openai/gpt-5-mini · teacher");
    expect(matrixLabel(["a", "b"], ["teacher", "icu_nurse", "tech_pm"])).toBe("2 models · 3 personas");
    expect(matrixLabel(["a", "b"], ["teacher"])).toBe("2 models · teacher");
  });

  it("is empty for a run without a matrix", () => {
    expect(matrixLabel([], [])).toBe("");
  });
});
