// Keyboard shortcuts: the window's own (a view by Ctrl+digit, "?" for the list) and the test
// every view's one-key shortcuts share, so that Ctrl+3 opens a view instead of also rating 3.

type Keys = Pick<KeyboardEvent, "key" | "ctrlKey" | "altKey" | "metaKey">;

/** The view that Ctrl+1 … Ctrl+9, Ctrl+0 opens (0-based, in tab order), or null. */
export function viewShortcut(e: Keys, views: number): number | null {
  if (!e.ctrlKey || e.altKey || e.metaKey || !/^[0-9]$/.test(e.key)) return null;
  const i = (Number(e.key) + 9) % 10;
  return i < views ? i : null;
}

/** Whether a key is for a view's one-key shortcuts: pressed without Ctrl, Alt or Meta, and not
 * typed into one of `fields`. */
export function isPlainKey(e: Keys & { target: EventTarget | Closest | null }, fields = "input, select, textarea"): boolean {
  if (e.ctrlKey || e.altKey || e.metaKey) return false;
  return !(e.target as Partial<Closest> | null)?.closest?.(fields);
}

/** What `isPlainKey` asks of a key's target (an element has it; the window and tests' stand-ins need not). */
type Closest = { closest: (selector: string) => unknown };

/** What the "?" list shows; README's "Keys in the window" says the same. */
export const SHORTCUTS: { where: string; keys: [string, string][] }[] = [
  { where: "Anywhere", keys: [["Ctrl+1 … Ctrl+9, Ctrl+0", "open a view, in tab order"], ["?", "this list"]] },
  {
    where: "Results",
    keys: [
      ["j / k, ↓ / ↑", "next / previous result"],
      ["PageDown / PageUp, Home / End", "jump"],
      ["Enter / Esc", "open / close the detail"],
      ["1-5", "rate the selected result"],
    ],
  },
  { where: "Rate", keys: [["1-5", "rate and go on"], ["j / k", "next / previous"], ["u", "undo the last rating"]] },
  { where: "Traces", keys: [["/", "search"], ["Esc", "clear the search"], ["j / k, ↓ / ↑", "next / previous call of the trace"]] },
  { where: "Playground, replay, lab", keys: [["Ctrl+Enter", "send (the lab: run the grid)"]] },
];
