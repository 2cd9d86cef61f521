import { describe, expect, it, vi } from "vitest";
import { onCtrlEnter, optionalNumber } from "./form";

describe("optionalNumber", () => {
  it("reads an empty field as not set", () => {
    expect(optionalNumber("  ")).toBeNull();
    expect(optionalNumber("0.7")).toBe(0.7);
    expect(optionalNumber("0")).toBe(0);
  });
});

describe("onCtrlEnter", () => {
  it("sends on Ctrl+Enter or Cmd+Enter only", () => {
    const send = vi.fn();
    const handle = onCtrlEnter(send);
    const key = (init: KeyboardEventInit) => ({ ...init, preventDefault: vi.fn() }) as unknown as KeyboardEvent;
    handle(key({ key: "Enter" }));
    handle(key({ key: "a", ctrlKey: true }));
    expect(send).not.toHaveBeenCalled();
    handle(key({ key: "Enter", ctrlKey: true }));
    handle(key({ key: "Enter", metaKey: true }));
    expect(send).toHaveBeenCalledTimes(2);
  });
});
