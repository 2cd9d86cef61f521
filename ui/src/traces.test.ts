import { describe, expect, it } from "vitest";
import type { Span, SpanStarted } from "./api";
import { formattedJson, inFlight, waterfall } from "./traces";

function span(id: string, start: string, end: string, retries: Span["retries"] = []): Span {
  return {
    id, trace_id: "t", parent_id: null, trace_kind: "test", trace_name: "t", run_id: null, kind: "generation",
    name: id, provider: "mock", model: "m", ok: true, error: null, messages: null, params: null, response: null,
    parsed: null, retries, input_tokens: 0, output_tokens: 0, cost_usd: 0, billed_cost_usd: null, latency_ms: 0,
    started_at: start, ended_at: end, replay_of: null, attributes: null,
  };
}

describe("waterfall", () => {
  it("places spans on one axis from the first start to the last end", () => {
    const { rows, durationMs } = waterfall([
      span("a", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:01.000Z"),
      span("b", "2026-11-22T10:00:01.000Z", "2026-11-22T10:00:04.000Z"),
    ]);
    expect(durationMs).toBe(4000);
    expect(rows.map((r) => r.bar)).toEqual([{ left: 0, width: 25 }, { left: 25, width: 75 }]);
  });

  it("draws each failed attempt and its wait inside the span", () => {
    const retry = { attempt: 1, kind: "rate_limited" as const, message: "HTTP 429", started_ms: 0, ended_ms: 100, wait_ms: 500 };
    const { rows } = waterfall([span("a", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:01.000Z", [retry])]);
    const [a] = rows[0].attempts;
    expect(a.bar).toEqual({ left: 0, width: 10 });
    expect(a.wait).toEqual({ left: 10, width: 50 });
    expect(a.message).toContain("rate_limited (HTTP 429); waited 500 ms");
  });

  it("nests spans under their parents, and a missing or cyclic parent does not hang", () => {
    const root = span("root", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:02.000Z");
    const child = { ...span("child", "2026-11-22T10:00:00.500Z", "2026-11-22T10:00:01.000Z"), parent_id: "root" };
    const grandchild = { ...span("gc", "2026-11-22T10:00:00.600Z", "2026-11-22T10:00:00.700Z"), parent_id: "child" };
    const orphan = { ...span("orphan", "2026-11-22T10:00:01.000Z", "2026-11-22T10:00:01.500Z"), parent_id: "elsewhere" };
    expect(waterfall([root, child, grandchild, orphan]).rows.map((r) => r.depth)).toEqual([0, 1, 2, 0]);
    const a = { ...span("a", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:01.000Z"), parent_id: "b" };
    const b = { ...span("b", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:01.000Z"), parent_id: "a" };
    expect(waterfall([a, b]).rows.map((r) => r.depth)).toEqual([2, 2]);
  });

  it("keeps an instant span visible", () => {
    const { rows } = waterfall([span("a", "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:00.000Z")]);
    expect(rows[0].bar.width).toBeGreaterThan(0);
  });
});

describe("inFlight", () => {
  const started = (id: string): SpanStarted => ({ id, trace_id: "t", trace_name: "t", kind: "chat", model: "m", started_at: "" });
  const stored = (id: string) => ({ id, trace_id: "t", trace_name: "t", trace_kind: "test" as const, kind: "chat", model: "m", ok: true, started_at: "", ended_at: "" });

  it("adds new calls first and drops stored ones", () => {
    let live = inFlight([], { started: [started("a"), started("b")], stored: [], dropped: 0 });
    expect(live.map((s) => s.id)).toEqual(["b", "a"]);
    live = inFlight(live, { started: [started("c")], stored: [stored("a")], dropped: 0 });
    expect(live.map((s) => s.id)).toEqual(["c", "b"]);
  });

  it("never shows a call that started and ended in one report, and caps the list", () => {
    expect(inFlight([], { started: [started("x")], stored: [stored("x")], dropped: 0 })).toEqual([]);
    const many = Array.from({ length: 80 }, (_, i) => started(String(i)));
    expect(inFlight([], { started: many, stored: [], dropped: 0 }, 50)).toHaveLength(50);
  });
});

describe("formattedJson", () => {
  it("indents a compact JSON object or array", () => {
    expect(formattedJson('{"chips":[{"text":"a","type":"jargon"}]}')).toBe('{\n  "chips": [\n    {\n      "text": "a",\n      "type": "jargon"\n    }\n  ]\n}');
    expect(formattedJson(' [1,2] \n')).toBe("[\n  1,\n  2\n]");
  });

  it("leaves prose, scalars, broken JSON and text laid out already alone", () => {
    expect(formattedJson("In brief: it depends.")).toBeNull();
    expect(formattedJson("42")).toBeNull();
    expect(formattedJson('"a string"')).toBeNull();
    expect(formattedJson('{"chips": [')).toBeNull();
    expect(formattedJson('{"a": 1} and then prose')).toBeNull();
    expect(formattedJson('{\n  "a": 1\n}')).toBeNull();
  });

  it("keeps markup as text: the caller renders it as text", () => {
    expect(formattedJson('{"html":"<img src=x onerror=alert(1)>"}')).toBe('{\n  "html": "<img src=x onerror=alert(1)>"\n}');
  });
});
