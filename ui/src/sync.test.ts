import { describe, expect, it } from "vitest";
import type { SyncState } from "./bindings";
import { syncLabel } from "./sync";

const state = (configured: boolean, status: Partial<SyncState["status"]>): SyncState => ({
  configured,
  url: configured ? "libsql://team.turso.io" : null,
  token: { source: null, masked: null },
  interval_secs: 60,
  status: { last_success_at: null, last_error: null, last_error_at: null, pending: 0, last_pushed: 0, last_pulled: 0, quarantined: 0, ...status },
});

describe("syncLabel", () => {
  it("says off until a database is configured", () => {
    expect(syncLabel(state(false, { pending: 12 })).kind).toBe("off");
  });

  it("tells synced, pending, offline and error apart", () => {
    const ok = "2026-11-22T10:00:00.000Z";
    expect(syncLabel(state(true, { last_success_at: ok, last_pushed: 3, last_pulled: 4 }))).toMatchObject({ kind: "synced", text: "synced" });
    expect(syncLabel(state(true, { last_success_at: ok, pending: 7 }))).toMatchObject({ kind: "pending", text: "pending 7" });
    const offline = syncLabel(state(true, { last_error: "the sync server is unreachable: connection refused", pending: 2 }));
    expect(offline).toMatchObject({ kind: "offline", text: "offline · 2 pending" });
    expect(offline.title).toContain("connection refused");
    const refused = syncLabel(state(true, { last_error: "the sync server answered HTTP 401: unauthorized" }));
    expect(refused).toMatchObject({ kind: "error", text: "sync error" });
    expect(refused.title).toContain("HTTP 401");
  });

  it("mentions rows the server refused", () => {
    const label = syncLabel(state(true, { last_success_at: "2026-11-22T10:00:00.000Z", quarantined: 2 }));
    expect(label.kind).toBe("synced");
    expect(label.title).toContain("2 row(s) refused by the server");
  });
});
