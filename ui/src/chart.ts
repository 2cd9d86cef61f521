// Data for the leaderboard's quality-vs-cost scatter (drawn by Observable Plot). Costs per result
// span orders of magnitude across models, so the x axis is logarithmic.

export interface Point {
  name: string;
  cost: number; // dollars per result
  quality: number;
  front: boolean;
}

/** Points ready for a log axis: a free model (cost 0) sits a decade left of the cheapest paid one. */
export function forLogScale(points: Point[]): Point[] {
  const paid = points.map((p) => p.cost).filter((c) => c > 0);
  const floor = paid.length ? Math.min(...paid) / 10 : 1e-6;
  return points.map((p) => ({ ...p, cost: Math.max(p.cost, floor) }));
}

/**
 * The quality axis: the whole 1-5 scale for ratings, so charts compare across views; for z-scores
 * a range symmetric around 0 (the average rater's average) that holds every point.
 */
export function qualityDomain(points: Point[], normalised: boolean): [number, number] {
  if (!normalised) return [1, 5];
  const reach = Math.max(1, ...points.map((p) => Math.abs(p.quality)));
  const edge = Math.ceil(reach * 2) / 2;
  return [-edge, edge];
}

/** The Pareto front as a line: its points from cheapest to dearest. */
export function frontLine(points: Point[]): Point[] {
  return points.filter((p) => p.front).sort((a, b) => a.cost - b.cost);
}

/** Dollars with enough digits to tell small per-result costs apart. */
export function dollars(usd: number): string {
  return usd >= 0.01 || usd === 0 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(2)}`;
}
