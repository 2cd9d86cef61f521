// The one place that calls Rust: components import these functions, never `invoke` with a string.
import { invoke } from "@tauri-apps/api/core";

/** Mirrors src-tauri's CommandError: branch on `code`, show `message`. */
export interface CommandError {
  code: "validation" | "not_found" | "conflict" | "config" | "provider" | "storage";
  message: string;
}

export const runCount = (): Promise<number> => invoke<number>("run_count");
