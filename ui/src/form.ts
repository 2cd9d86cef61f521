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
