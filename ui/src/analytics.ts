// The analytics view's logic, kept out of the component so it can be tested: a continuous daily
// series for the lines (days without calls are zeros, not gaps joined across) and how figures read.
import type { CallStats, GroupStats } from "./bindings";

export type DayPoint = { day: Date; calls: number; errors: number; cost: number };

/** One point per day from the first day with calls to the last, zeros where there were none. */
export function dailySeries(days: GroupStats[]): DayPoint[] {
  if (days.length === 0) return [];
  const byDay = new Map(days.map((d) => [d.key, d.stats]));
  const keys = [...byDay.keys()].sort();
  const out: DayPoint[] = [];
  for (let t = Date.parse(`${keys[0]}T00:00:00Z`); t <= Date.parse(`${keys[keys.length - 1]}T00:00:00Z`); t += 86_400_000) {
    const s = byDay.get(new Date(t).toISOString().slice(0, 10));
    out.push({ day: new Date(t), calls: s?.calls ?? 0, errors: s?.errors ?? 0, cost: s?.cost_usd ?? 0 });
  }
  return out;
}

/** "1,234 ms", or "–" without calls. */
export function millis(v: number | null): string {
  return v === null ? "–" : `${Math.round(v).toLocaleString("en-US")} ms`;
}

/** "4.2%" of calls that failed. */
export function errorRate(s: CallStats): string {
  return `${(100 * (s.error_rate ?? 0)).toFixed(1)}%`;
}
