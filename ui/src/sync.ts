// What the header's sync indicator says, from the sync state (plain logic, tested in sync.test.ts).
import type { SyncState } from "./bindings";

export type SyncLabel = { kind: "off" | "synced" | "pending" | "offline" | "error"; text: string; title: string };

export function syncLabel(s: SyncState): SyncLabel {
  const label = base(s);
  const refused = s.status.quarantined;
  return refused > 0 ? { ...label, title: `${label.title} · ${refused} row(s) refused by the server, kept local` } : label;
}

function base(s: SyncState): SyncLabel {
  const { status } = s;
  if (!s.configured) return { kind: "off", text: "sync off", title: "Set a Turso database URL in Settings to share runs and ratings (click to open Settings)" };
  const last = status.last_success_at ? `last synced ${new Date(status.last_success_at).toLocaleString()}` : "never synced";
  if (status.last_error) {
    const offline = /unreachable/.test(status.last_error);
    return offline
      ? { kind: "offline", text: `offline · ${status.pending} pending`, title: `${status.last_error} (${last})` }
      : { kind: "error", text: "sync error", title: `${status.last_error} (${last})` };
  }
  if (status.pending > 0) return { kind: "pending", text: `pending ${status.pending}`, title: last };
  if (!status.last_success_at) return { kind: "pending", text: "not synced yet", title: last };
  return { kind: "synced", text: "synced", title: `${last}: pushed ${status.last_pushed}, pulled ${status.last_pulled}` };
}
