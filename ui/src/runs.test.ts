import { describe, expect, it } from "vitest";
import { approxDuration, matrixLabel, timeLeft } from "./runs";

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

describe("timeLeft", () => {
  it("extrapolates the pace seen since the first sample", () => {
    // 10 tests in 20 s: 2 s a test, 90 left.
    expect(timeLeft({ at: 0, done: 0 }, { at: 20_000, done: 10 }, 100)).toBe("~3 min left");
    // After a resume the count starts high; only this session's pace counts.
    expect(timeLeft({ at: 0, done: 200 }, { at: 10_000, done: 210 }, 240)).toBe("~30 s left");
  });

  it("says nothing before a test has finished, or once all have", () => {
    expect(timeLeft({ at: 0, done: 5 }, { at: 9_000, done: 5 }, 100)).toBe("");
    expect(timeLeft({ at: 0, done: 0 }, { at: 9_000, done: 100 }, 100)).toBe("");
  });
});

describe("approxDuration", () => {
  it("rounds to the unit that matters, as the estimate does", () => {
    expect([0.2, 24, 59.4, 60, 744, 5399, 5400, 7500].map(approxDuration)).toEqual([
      "~1 s", "~24 s", "~59 s", "~1 min", "~12 min", "~90 min", "~1 h 30 min", "~2 h 05 min",
    ]);
  });
});
