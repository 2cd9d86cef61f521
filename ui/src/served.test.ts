import { describe, expect, it } from "vitest";
import type { ServedModel } from "./api";
import { creditText, priceText, unlisted } from "./served";

const model = (id: string, name: string | null = null, price: ServedModel["price"] = null): ServedModel => ({ id, name, price });
const served = [
  model("anthropic/claude-haiku-4.5", "Anthropic: Claude Haiku 4.5", { input: 1, output: 5 }),
  model("meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B Instruct"),
  model("openai/gpt-5-mini", "OpenAI: GPT-5 Mini"),
  model("qwen/qwen3-32b"),
];

describe("unlisted", () => {
  it("leaves out what the price table has", () => {
    const { shown, more } = unlisted(served, new Set(["openai/gpt-5-mini"]), "");
    expect(shown.map((m) => m.id)).toEqual(["anthropic/claude-haiku-4.5", "meta-llama/llama-3.3-70b-instruct", "qwen/qwen3-32b"]);
    expect(more).toBe(0);
  });

  it("matches every word against the id or the name, in any case", () => {
    expect(unlisted(served, new Set(), "LLAMA 70b").shown.map((m) => m.id)).toEqual(["meta-llama/llama-3.3-70b-instruct"]);
    expect(unlisted(served, new Set(), "anthropic haiku").shown).toHaveLength(1);
    expect(unlisted(served, new Set(), "haiku gpt").shown).toHaveLength(0);
  });

  it("shows a bounded number and counts the rest", () => {
    const many = Array.from({ length: 30 }, (_, i) => model(`m/${i}`));
    expect(unlisted(many, new Set(["m/0"]), "", 12)).toMatchObject({ more: 17 });
    expect(unlisted(many, new Set(), "", 12).shown).toHaveLength(12);
  });
});

describe("priceText", () => {
  it("gives dollars per million tokens or says there are none", () => {
    expect(priceText(served[0])).toBe("$1 / $5 per M");
    expect(priceText(served[3])).toBe("price not given");
  });
});

describe("creditText", () => {
  it("says what the key spent and its limit, or that it has none", () => {
    expect(creditText({ usage_usd: 0.25, limit_usd: 10 })).toBe("The key works: $0.25 spent, a $10 limit.");
    expect(creditText({ usage_usd: 0, limit_usd: null })).toBe("The key works: $0 spent, no limit set.");
  });
});
