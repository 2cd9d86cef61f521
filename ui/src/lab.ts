// The prompt lab's view logic, kept out of the components so it can be tested: applying live
// cell updates to the page shown, the grade a cell shows, and how figures read.
import type { Agreement, GridCell, GridPage, Metric, PassCount } from "./bindings";

/** Puts newer cell states (from a grid-activity event) into the page; true if any was on it. */
export function applyCells(page: GridPage, cells: GridCell[]): boolean {
  const byId = new Map(cells.map((c) => [c.id, c]));
  let changed = false;
  for (const row of page.rows) {
    row.cells = row.cells.map((c) => {
      const newer = byId.get(c.id);
      if (!newer) return c;
      changed = true;
      // An event carries no user's grade: keep the one shown.
      return { ...newer, my_grade: c.my_grade };
    });
  }
  return changed;
}

/** The grade a cell shows under a metric: true pass, false fail, null none yet. */
export function shownGrade(cell: GridCell, metric: Metric): boolean | null {
  switch (metric) {
    case "rule":
      return cell.rule_pass;
    case "judge":
      return cell.judge_pass;
    case "manual":
      return cell.my_grade;
  }
}

/** Why a cell has the grade it shows (the rule's reason, the judge's rationale). */
export function gradeReason(cell: GridCell, metric: Metric): string | null {
  return metric === "rule" ? cell.rule_reason : metric === "judge" ? cell.judge_reason : null;
}

/** "67% of 3", or "–" when nothing is graded. */
export function passRate(p: PassCount): string {
  return p.graded === 0 ? "–" : `${Math.round((100 * p.passed) / p.graded)}% of ${p.graded}`;
}

/** "agreement 66.7% over 3 cells, κ 0.400", or why there is no figure yet. */
export function agreementText(a: Agreement | null): string {
  if (!a) return "no cells graded by people yet";
  const kappa = a.kappa === null ? "κ undefined (one grade only)" : `κ ${a.kappa.toFixed(3)}`;
  return `agreement ${(100 * (a.rate ?? 0)).toFixed(1)}% over ${a.pairs} cell${a.pairs === 1 ? "" : "s"}, ${kappa}`;
}

/** The next manual grade when a grade button is pressed: pressing the current one unsets it. */
export function toggledGrade(current: boolean | null, pressed: boolean): boolean | null {
  return current === pressed ? null : pressed;
}
