// Plain logic of the trace views: the waterfall's geometry, the live list of calls in flight, and
// a JSON response laid out for reading.
import type { Span, SpanActivity, SpanStarted } from "./api";

/** A bar of the waterfall, in percent of the trace's duration. */
export type Bar = { left: number; width: number };

/**
 * One span's row: its bar, inside it each failed attempt and the wait after it, and its depth
 * under its parents (imported traces nest tool calls and steps).
 */
export type WaterfallRow = { span: Span; bar: Bar; depth: number; attempts: { bar: Bar; wait: Bar; message: string }[] };

const ms = (t: string) => Date.parse(t);

/** Lays the spans out on one time axis from the first start to the last end (min 1 ms). */
export function waterfall(spans: Span[]): { rows: WaterfallRow[]; durationMs: number } {
  if (spans.length === 0) return { rows: [], durationMs: 0 };
  const start = Math.min(...spans.map((s) => ms(s.started_at)));
  const end = Math.max(...spans.map((s) => ms(s.ended_at)));
  const duration = Math.max(end - start, 1);
  const pct = (from: number, to: number): Bar => ({
    left: ((from - start) / duration) * 100,
    width: Math.max(((to - from) / duration) * 100, 0.4),
  });
  const parents = new Map(spans.map((s) => [s.id, s.parent_id]));
  const depth = (span: Span) => {
    let d = 0;
    for (let p = span.parent_id; p && parents.has(p) && d < spans.length; p = parents.get(p) ?? null) d++;
    return d;
  };
  const rows = spans.map((span) => {
    const s = ms(span.started_at);
    return {
      span,
      depth: depth(span),
      bar: pct(s, Math.max(ms(span.ended_at), s)),
      attempts: span.retries.map((r) => ({
        bar: pct(s + r.started_ms, s + r.ended_ms),
        wait: pct(s + r.ended_ms, s + r.ended_ms + r.wait_ms),
        message: `attempt ${r.attempt}: ${r.kind} (${r.message}); waited ${r.wait_ms} ms`,
      })),
    };
  });
  return { rows, durationMs: end - start };
}

/**
 * Calls in flight after an activity report: new starts join, stored spans leave; newest first,
 * at most `limit`.
 */
export function inFlight(current: SpanStarted[], activity: SpanActivity, limit = 50): SpanStarted[] {
  const done = new Set(activity.stored.map((s) => s.id));
  const next = [...activity.started.slice().reverse(), ...current].filter((s) => !done.has(s.id));
  return next.slice(0, limit);
}

/**
 * A response that is a JSON object or array, indented for reading; null when it is not one, or
 * is laid out that way already. A view only: parsing drops a repeated key and rounds numbers past
 * 2^53, so the raw text stays one click away.
 */
export function formattedJson(text: string): string | null {
  const t = text.trim();
  if (!/^[[{]/.test(t)) return null;
  try {
    const formatted = JSON.stringify(JSON.parse(t), null, 2);
    return formatted === t ? null : formatted;
  } catch {
    return null;
  }
}
