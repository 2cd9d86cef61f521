import { describe, expect, it, vi } from "vitest";
import { onCtrlEnter, onEnterSave, optionalNumber } from "./form";

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

describe("onEnterSave", () => {
  const key = (init: KeyboardEventInit, value: string) =>
    ({ ...init, currentTarget: { value }, preventDefault: vi.fn() }) as unknown as KeyboardEvent;

  it("saves on Enter what the field holds, and never submits the form around it", () => {
    const save = vi.fn();
    const enter = key({ key: "Enter" }, "sk-typed");
    onEnterSave(save)(enter);
    expect(save).toHaveBeenCalledTimes(1);
    expect(enter.preventDefault).toHaveBeenCalled();
  });

  it("does nothing in an empty field (saving nothing would remove the secret) or for other keys", () => {
    const save = vi.fn();
    const handle = onEnterSave(save);
    const empty = key({ key: "Enter" }, "  ");
    handle(empty);
    handle(key({ key: "a" }, "sk-typed"));
    handle(key({ key: "Enter", ctrlKey: true }, "sk-typed"));
    expect(save).not.toHaveBeenCalled();
    expect(empty.preventDefault).toHaveBeenCalled();
  });
});
