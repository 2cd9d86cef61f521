import { describe, expect, it } from "vitest";
import { dollars, forLogScale, frontLine, qualityDomain, type Point } from "./chart";

const pt = (name: string, cost: number, quality: number, front = false): Point => ({ name, cost, quality, front });

describe("forLogScale", () => {
  it("keeps paid costs and puts free models a decade below the cheapest", () => {
    const placed = forLogScale([pt("local", 0, 3), pt("cheap", 0.0002, 3.5), pt("dear", 0.01, 4)]);
    expect(placed.map((p) => p.cost)).toEqual([0.00002, 0.0002, 0.01]);
  });

  it("still has a positive cost when every model is free", () => {
    expect(forLogScale([pt("a", 0, 3)])[0].cost).toBeGreaterThan(0);
  });
});

describe("qualityDomain", () => {
  it("is the rating scale for ratings and symmetric around 0 for z-scores", () => {
    expect(qualityDomain([pt("a", 1, 4.2)], false)).toEqual([1, 5]);
    expect(qualityDomain([pt("a", 1, 0)], true)).toEqual([-1, 1]);
    expect(qualityDomain([pt("a", 1, -1.3), pt("b", 1, 0.4)], true)).toEqual([-1.5, 1.5]);
  });
});

describe("frontLine", () => {
  it("joins the front from cheapest to dearest and skips the rest", () => {
    const line = frontLine([pt("dear", 0.01, 4, true), pt("beaten", 0.005, 2), pt("cheap", 0.0001, 3, true)]);
    expect(line.map((p) => p.name)).toEqual(["cheap", "dear"]);
  });
});

describe("dollars", () => {
  it("shows cents, or two significant digits below a cent", () => {
    expect([dollars(1.234), dollars(0.0123), dollars(0.000456), dollars(0)]).toEqual(["$1.23", "$0.01", "$0.00046", "$0.00"]);
  });
});
