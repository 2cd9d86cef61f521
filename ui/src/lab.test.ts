import { describe, expect, it } from "vitest";
import type { GridCell, GridPage } from "./bindings";
import { agreementText, applyCells, passRate, shownGrade, toggledGrade } from "./lab";

const cell = (id: string, over: Partial<GridCell> = {}): GridCell => ({
  id, row_index: 0, model: "m", status: "queued", output: null, error: null, input_tokens: 0, output_tokens: 0,
  cost_usd: 0, latency_ms: 0, rule_pass: null, rule_reason: null, judge_pass: null, judge_reason: null, my_grade: null,
  span_id: null, attempts: 0, updated_at: "", ...over,
});

const page = (cells: GridCell[]): GridPage =>
  ({ rows: [{ index: 0, values: ["q"], cells }] }) as unknown as GridPage;

describe("applyCells", () => {
  it("replaces cells on the page by id and keeps the user's own grade", () => {
    const p = page([cell("a", { my_grade: true }), cell("b")]);
    const changed = applyCells(p, [cell("a", { status: "succeeded", output: "hi", judge_pass: false }), cell("z")]);
    expect(changed).toBe(true);
    expect(p.rows[0].cells[0]).toMatchObject({ status: "succeeded", output: "hi", my_grade: true });
    expect(p.rows[0].cells[1].status).toBe("queued");
  });

  it("says when no cell of the page changed", () => {
    expect(applyCells(page([cell("a")]), [cell("elsewhere")])).toBe(false);
  });
});

describe("grades", () => {
  it("shows the grade of the chosen metric", () => {
    const c = cell("a", { rule_pass: true, judge_pass: false, my_grade: null });
    expect([shownGrade(c, "rule"), shownGrade(c, "judge"), shownGrade(c, "manual")]).toEqual([true, false, null]);
  });

  it("pressing the grade a cell has unsets it", () => {
    expect(toggledGrade(null, true)).toBe(true);
    expect(toggledGrade(true, true)).toBe(null);
    expect(toggledGrade(true, false)).toBe(false);
  });

  it("reads pass rates and agreement", () => {
    expect(passRate({ passed: 2, graded: 3 })).toBe("67% of 3");
    expect(passRate({ passed: 0, graded: 0 })).toBe("–");
    expect(agreementText(null)).toBe("no cells graded by people yet");
    expect(agreementText({ pairs: 3, rate: 2 / 3, kappa: 0.4 })).toBe("agreement 66.7% over 3 cells, κ 0.400");
    expect(agreementText({ pairs: 1, rate: 0, kappa: null })).toBe("agreement 0.0% over 1 cell, κ undefined (one grade only)");
  });
});
