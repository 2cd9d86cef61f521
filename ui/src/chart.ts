// Geometry of the leaderboard's quality-vs-cost scatter. Costs per result span orders of
// magnitude across models, so the x axis is logarithmic; quality is linear.

export interface Point {
  name: string;
  cost: number; // dollars per result
  quality: number;
  front: boolean;
}

export interface Placed extends Point {
  x: number;
  y: number;
}

/** Places points in a width x height box (inside `pad`); zero or negative costs sit at the left edge. */
export function place(points: Point[], width: number, height: number, pad = 40): Placed[] {
  const logs = points.filter((p) => p.cost > 0).map((p) => Math.log10(p.cost));
  const [lo, hi] = logs.length ? [Math.min(...logs), Math.max(...logs)] : [0, 0];
  const qs = points.map((p) => p.quality);
  const [qlo, qhi] = [Math.min(...qs), Math.max(...qs)];
  // Where a value lies between lo and hi, 0-1; the middle when they are equal.
  const at = (v: number, a: number, b: number) => (b - a > 1e-12 ? (v - a) / (b - a) : 0.5);
  return points.map((p) => ({
    ...p,
    x: pad + (p.cost > 0 ? at(Math.log10(p.cost), lo, hi) : 0) * (width - 2 * pad),
    y: height - pad - at(p.quality, qlo, qhi) * (height - 2 * pad),
  }));
}

/** The front as a line: its points from cheapest to dearest. */
export function frontLine(points: Placed[]): string {
  return points
    .filter((p) => p.front)
    .sort((a, b) => a.cost - b.cost)
    .map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`)
    .join(" ");
}

/** Dollars with enough digits to tell small per-result costs apart. */
export function dollars(usd: number): string {
  return usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(2)}`;
}
