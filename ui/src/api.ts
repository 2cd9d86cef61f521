// The UI's one door to Rust. Commands and their types are generated (bindings.ts); this module
// turns their result objects into values or thrown CommandErrors, so components stay simple.
import { commands, type CommandError } from "./bindings";

export type * from "./bindings";

type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  const r = await call;
  if (r.status === "error") throw r.error;
  return r.data;
}

/** The message to show for anything a command threw. */
export function messageOf(e: unknown): string {
  return typeof e === "object" && e !== null && "message" in e ? String((e as CommandError).message) : String(e);
}

export const api = {
  runCount: () => unwrap(commands.runCount()),
  runs: () => unwrap(commands.runs()),
  rater: () => commands.rater(),
};
