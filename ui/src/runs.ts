// What a run tests, in a few words for the runs table.

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** "openai/gpt-5-mini · teacher", or counts once there are several; "" without a matrix. */
export function matrixLabel(models: string[], personaIds: string[]): string {
  if (models.length === 0 && personaIds.length === 0) return "";
  const m = models.length === 1 ? models[0] : count(models.length, "model");
  const p = personaIds.length === 1 ? personaIds[0] : count(personaIds.length, "persona");
  return `${m} · ${p}`;
}

/** A count of finished tests at a moment (ms since the epoch). */
export type Sample = { at: number; done: number };

/** What is left of a running batch at the pace seen since `first`: "~3 min left", or "" until
 * tests have finished since then. */
export function timeLeft(first: Sample, latest: Sample, total: number): string {
  const finished = latest.done - first.done;
  if (finished <= 0 || latest.done >= total) return "";
  const secs = ((latest.at - first.at) / 1000 / finished) * (total - latest.done);
  return `${approxDuration(secs)} left`;
}

/** The rounding of the batch estimate's duration (core's `duration_text`): "~40 s", "~12 min",
 * "~2 h 05 min"; under a second is "~1 s". */
export function approxDuration(secs: number): string {
  const s = Math.max(1, Math.round(secs));
  if (s < 60) return `~${s} s`;
  const m = Math.round(secs / 60);
  if (s < 5400) return `~${m} min`;
  return `~${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}
