// What a run tests, in a few words for the runs table.

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** "openai/gpt-5-mini · teacher", or counts once there are several; "" without a matrix. */
export function matrixLabel(models: string[], personaIds: string[]): string {
  if (models.length === 0 && personaIds.length === 0) return "";
  const m = models.length === 1 ? models[0] : count(models.length, "model");
  const p = personaIds.length === 1 ? personaIds[0] : count(personaIds.length, "persona");
  return `${m} · ${p}`;
}
