// The results table's data: which rows are on screen (virtualisation) and the pages of rows
// fetched for them. Plain TypeScript, so it is tested without a browser (rows.test.ts).

/** Rows [first, end) to render for a viewport, with `overscan` rows either side. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, total: number, overscan = 10) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return { first, end: Math.max(first, end) };
}

/** The scrollTop that brings row `index` into view, or the current one when it already is. */
export function scrollToShow(index: number, scrollTop: number, viewport: number, rowHeight: number) {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewport) return top + rowHeight - viewport;
  return scrollTop;
}

export type Fetch<T> = (offset: number, limit: number) => Promise<{ rows: T[]; total: number }>;

/**
 * Rows of one query, fetched a page at a time as they come into view. A page is requested once;
 * `onload` is called when one arrives. A new query is a new instance, so late answers to an old
 * one are simply dropped with it.
 */
export class PagedRows<T> {
  private pages = new Map<number, T[]>();
  private pending = new Set<number>();
  total: number | null = null;
  error: unknown = null;

  constructor(
    private readonly fetch: Fetch<T>,
    private readonly onload: () => void,
    readonly pageSize = 200,
  ) {}

  row(index: number): T | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  /** Requests the pages that hold rows [first, end) and are neither loaded nor in flight. */
  ensure(first: number, end: number): void {
    const last = Math.max(first, end - 1);
    for (let p = Math.floor(first / this.pageSize); p <= Math.floor(last / this.pageSize); p++) {
      if (this.pages.has(p) || this.pending.has(p)) continue;
      if (this.total !== null && p * this.pageSize >= this.total) break;
      this.pending.add(p);
      this.fetch(p * this.pageSize, this.pageSize).then(
        ({ rows, total }) => {
          this.pages.set(p, rows);
          this.error = null;
          this.total = total;
          this.pending.delete(p);
          this.onload();
        },
        (e) => {
          this.error = e;
          this.pending.delete(p);
          this.onload();
        },
      );
    }
  }

  /** Replaces one loaded row in place (e.g. after rating it from the detail). */
  update(index: number, row: T): void {
    const page = this.pages.get(Math.floor(index / this.pageSize));
    if (page) page[index % this.pageSize] = row;
  }
}
