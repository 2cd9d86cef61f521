import { describe, expect, it } from "vitest";
import { isPlainKey, viewShortcut } from "./keys";

const press = (key: string, mods: { ctrl?: boolean; alt?: boolean; meta?: boolean } = {}) => ({
  key,
  ctrlKey: mods.ctrl ?? false,
  altKey: mods.alt ?? false,
  metaKey: mods.meta ?? false,
});

describe("viewShortcut", () => {
  it("opens views in tab order, Ctrl+0 the tenth", () => {
    expect(viewShortcut(press("1", { ctrl: true }), 10)).toBe(0);
    expect(viewShortcut(press("9", { ctrl: true }), 10)).toBe(8);
    expect(viewShortcut(press("0", { ctrl: true }), 10)).toBe(9);
  });

  it("ignores digits without Ctrl, with another modifier, other keys, and views that do not exist", () => {
    expect(viewShortcut(press("3"), 10)).toBeNull();
    expect(viewShortcut(press("3", { ctrl: true, alt: true }), 10)).toBeNull();
    expect(viewShortcut(press("3", { ctrl: true, meta: true }), 10)).toBeNull();
    expect(viewShortcut(press("a", { ctrl: true }), 10)).toBeNull();
    expect(viewShortcut(press("0", { ctrl: true }), 9)).toBeNull();
  });
});

describe("isPlainKey", () => {
  const inside = (matches: string) => ({ closest: (s: string) => (s.split(", ").includes(matches) ? {} : null) });

  it("takes keys pressed outside form fields without Ctrl, Alt or Meta", () => {
    expect(isPlainKey({ ...press("3"), target: inside("div") })).toBe(true);
    expect(isPlainKey({ ...press("3"), target: null })).toBe(true);
  });

  it("leaves keys with a modifier, and keys typed into a field, to others", () => {
    expect(isPlainKey({ ...press("3", { ctrl: true }), target: null })).toBe(false);
    expect(isPlainKey({ ...press("j", { alt: true }), target: null })).toBe(false);
    expect(isPlainKey({ ...press("j"), target: inside("textarea") })).toBe(false);
    expect(isPlainKey({ ...press("j"), target: inside("button") })).toBe(true);
    expect(isPlainKey({ ...press("j"), target: inside("button") }, "input, button")).toBe(false);
  });
});
