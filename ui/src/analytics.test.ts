import { describe, expect, it } from "vitest";
import type { CallStats, GroupStats } from "./bindings";
import { dailySeries, errorRate, millis } from "./analytics";

const stats = (calls: number, errors = 0, cost = 0): CallStats => ({
  calls, errors, error_rate: calls ? errors / calls : 0, input_tokens: 0, output_tokens: 0, cost_usd: cost,
  mean_latency_ms: null, p50_latency_ms: null, p95_latency_ms: null, results: 0, results_with_errors: 0, ratings: 0, mean_rating: null,
});

describe("dailySeries", () => {
  it("fills days without calls with zeros, in order", () => {
    const days: GroupStats[] = [{ key: "2026-11-22", stats: stats(5, 1, 0.5) }, { key: "2026-11-19", stats: stats(2) }];
    const series = dailySeries(days);
    expect(series.map((p) => p.day.toISOString().slice(0, 10))).toEqual(["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]);
    expect(series.map((p) => p.calls)).toEqual([2, 0, 0, 5]);
    expect(series[3]).toMatchObject({ errors: 1, cost: 0.5 });
  });

  it("is empty without days", () => {
    expect(dailySeries([])).toEqual([]);
  });
});

describe("figures", () => {
  it("reads milliseconds and error rates", () => {
    expect(millis(1234.4)).toBe("1,234 ms");
    expect(millis(null)).toBe("–");
    expect(errorRate(stats(40, 3))).toBe("7.5%");
  });
});
