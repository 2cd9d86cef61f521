// Small helpers the forms share.

/** An optional number field: empty means "not set" (null), anything else its value. */
export function optionalNumber(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

/** A keydown handler that runs `send` on Ctrl+Enter (Cmd+Enter on a Mac). */
export function onCtrlEnter(send: () => void): (e: KeyboardEvent) => void {
  return (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
    }
  };
}

/** A keydown handler for a field saved on its own (a secret beside its Save button): Enter saves
 * what is typed, and does nothing in an empty field, whose Save is disabled. The Enter never
 * submits a form around the field. */
export function onEnterSave(save: () => void): (e: KeyboardEvent) => void {
  return (e) => {
    if (e.key !== "Enter" || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    if ((e.currentTarget as HTMLInputElement | null)?.value.trim()) save();
  };
}
