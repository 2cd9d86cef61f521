// What Settings' Check shows of an endpoint's model list: the models not yet in the price table
// that match a filter, a bounded number at a time (OpenRouter serves several hundred).
import type { KeyCredit, ServedModel } from "./api";

/** How many models Check lists at once; beyond that it offers a filter. */
export const SHOWN = 12;

/** Models not in `known` whose id or name contains every word of `filter`; the first `limit`, and how many more. */
export function unlisted(models: ServedModel[], known: Set<string>, filter: string, limit = SHOWN) {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = models.filter((m) => {
    if (known.has(m.id)) return false;
    const text = `${m.id} ${m.name ?? ""}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
  return { shown: matches.slice(0, limit), more: Math.max(0, matches.length - limit) };
}

/** "$0.25 / $2 per M", or why there is none. */
export function priceText(m: ServedModel): string {
  return m.price ? `$${m.price.input} / $${m.price.output} per M` : "price not given";
}

/** What an OpenRouter key has spent, against its limit. */
export function creditText(c: KeyCredit): string {
  return `The key works: $${c.usage_usd} spent, ${c.limit_usd === null ? "no limit set" : `a $${c.limit_usd} limit`}.`;
}
