import { describe, expect, it } from "vitest";
import { PagedRows, scrollToShow, visibleRange } from "./rows";

describe("visibleRange", () => {
  it("covers the viewport plus overscan, clamped to the rows", () => {
    expect(visibleRange(0, 300, 30, 100_000, 5)).toEqual({ first: 0, end: 15 });
    expect(visibleRange(30_000, 300, 30, 100_000, 5)).toEqual({ first: 995, end: 1015 });
    expect(visibleRange(2_999_700, 300, 30, 100_000, 5)).toEqual({ first: 99_985, end: 100_000 });
    expect(visibleRange(0, 300, 30, 0, 5)).toEqual({ first: 0, end: 0 });
  });

  it("renders a bounded number of rows however many there are", () => {
    const { first, end } = visibleRange(1_234_567, 800, 30, 1_000_000);
    expect(end - first).toBeLessThanOrEqual(Math.ceil(800 / 30) + 21);
  });
});

describe("scrollToShow", () => {
  it("scrolls only when the row is out of view", () => {
    expect(scrollToShow(5, 0, 300, 30)).toBe(0);
    expect(scrollToShow(10, 0, 300, 30)).toBe(30); // the row just below the viewport
    expect(scrollToShow(2, 300, 300, 30)).toBe(60); // a row above it
  });
});

/** A fetch over `n` numbered rows that records its calls and resolves when told. */
function source(n: number) {
  const calls: number[] = [];
  const waiting: (() => void)[] = [];
  const fetch = (offset: number, limit: number) => {
    calls.push(offset);
    const rows = Array.from({ length: Math.max(0, Math.min(limit, n - offset)) }, (_, i) => offset + i);
    return new Promise<{ rows: number[]; total: number }>((resolve) => waiting.push(() => resolve({ rows, total: n })));
  };
  const flush = async () => {
    waiting.splice(0).forEach((go) => go());
    await new Promise((r) => setTimeout(r, 0));
  };
  return { calls, fetch, flush };
}

describe("PagedRows", () => {
  it("fetches each page once, only the ones in view", async () => {
    const s = source(1000);
    let loads = 0;
    const rows = new PagedRows(s.fetch, () => loads++, 100);
    rows.ensure(150, 260);
    rows.ensure(150, 260); // in flight: not asked again
    expect(s.calls).toEqual([100, 200]);
    expect(rows.row(150)).toBeUndefined();
    await s.flush();
    expect([rows.row(150), rows.row(260), rows.total, loads]).toEqual([150, 260, 1000, 2]);
    rows.ensure(190, 310);
    expect(s.calls).toEqual([100, 200, 300]);
  });

  it("asks for nothing past the end once the total is known", async () => {
    const s = source(120);
    const rows = new PagedRows(s.fetch, () => {}, 100);
    rows.ensure(0, 10);
    await s.flush();
    rows.ensure(0, 400);
    expect(s.calls).toEqual([0, 100]);
  });

  it("keeps a failed fetch's error and retries that page when asked again", async () => {
    let fail = true;
    const rows = new PagedRows(
      (offset) => (fail ? Promise.reject(new Error("database is locked")) : Promise.resolve({ rows: [offset], total: 1 })),
      () => {},
      100,
    );
    rows.ensure(0, 1);
    await new Promise((r) => setTimeout(r, 0));
    expect(String(rows.error)).toContain("database is locked");
    fail = false;
    rows.ensure(0, 1);
    await new Promise((r) => setTimeout(r, 0));
    expect(rows.row(0)).toBe(0);
  });

  it("updates a loaded row in place", async () => {
    const s = source(10);
    const rows = new PagedRows(s.fetch, () => {}, 100);
    rows.ensure(0, 10);
    await s.flush();
    rows.update(3, 33);
    expect(rows.row(3)).toBe(33);
  });
});
