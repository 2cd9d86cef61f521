import { describe, expect, it } from "vitest";
import { dollars, frontLine, place, type Point } from "./chart";

const pt = (name: string, cost: number, quality: number, front = false): Point => ({ name, cost, quality, front });

describe("place", () => {
  it("maps cost on a log scale and quality linearly into the padded box", () => {
    const [a, b, c] = place([pt("a", 0.0001, 2), pt("b", 0.001, 3), pt("c", 0.01, 4)], 240, 140, 20);
    expect([a.x, b.x, c.x]).toEqual([20, 120, 220]); // a decade apart: equal steps
    expect([a.y, b.y, c.y]).toEqual([120, 70, 20]); // higher quality higher up
  });

  it("centres a single point and puts free models at the left edge", () => {
    const [only] = place([pt("a", 0.002, 3)], 200, 100, 10);
    expect([only.x, only.y]).toEqual([100, 50]);
    const free = place([pt("local", 0, 3.5), pt("paid", 0.01, 4)], 200, 100, 10);
    expect(free[0].x).toBe(10);
  });
});

describe("frontLine", () => {
  it("joins the front from cheapest to dearest and skips the rest", () => {
    const placed = place([pt("dear", 0.01, 4, true), pt("beaten", 0.005, 2), pt("cheap", 0.0001, 3, true)], 240, 140, 20);
    expect(frontLine(placed)).toBe("20.0,70.0 220.0,20.0");
  });
});

describe("dollars", () => {
  it("shows cents, or two significant digits below a cent", () => {
    expect([dollars(1.234), dollars(0.0123), dollars(0.000456)]).toEqual(["$1.23", "$0.01", "$0.00046"]);
  });
});
