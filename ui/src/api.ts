// The UI's one door to Rust. Commands, events and their types are generated (bindings.ts); this
// module turns command results into values or thrown CommandErrors, so components stay simple.
import {
  commands,
  events,
  type BatchFinished,
  type BatchProgress,
  type BatchRequest,
  type CommandError,
  type GridActivity,
  type GridFinished,
  type GridRequest,
  type LangfuseState,
  type Rerun,
  type Model,
  type ProviderKind,
  type PlaygroundRequest,
  type ReplayRequest,
  type ResultFilter,
  type SearchQuery,
  type SpanActivity,
  type TraceFilter,
  type RunSelection,
  type Settings,
  type StatsQuery,
  type SyncState,
} from "./bindings";

export type * from "./bindings";
export { DEFAULT_SELECTOR } from "./bindings";

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
  exportRun: (runId: string, path: string) => unwrap(commands.exportRun(runId, path)),
  models: () => unwrap(commands.models()),
  personas: () => commands.personas(),
  rater: () => unwrap(commands.rater()),
  results: (filter: ResultFilter) => unwrap(commands.results(filter)),
  result: (id: string) => unwrap(commands.result(id)),
  rate: (resultId: string, rating: number) => unwrap(commands.rate(resultId, rating)),
  unrate: (resultId: string) => unwrap(commands.unrate(resultId)),
  stats: (query: StatsQuery) => unwrap(commands.stats(query)),
  exportLeaderboard: (query: StatsQuery, path: string) => unwrap(commands.exportLeaderboard(query, path)),
  facets: (runId: string | null) => unwrap(commands.facets(runId)),
  settings: () => unwrap(commands.settings()),
  saveSettings: (settings: Settings) => unwrap(commands.saveSettings(settings)),
  setApiKey: (provider: ProviderKind, key: string | null) => unwrap(commands.setApiKey(provider, key)),
  saveModel: (model: Model) => unwrap(commands.saveModel(model)),
  deleteModel: (id: string) => unwrap(commands.deleteModel(id)),
  servedModels: (provider: ProviderKind, baseUrl: string | null) => unwrap(commands.servedModels(provider, baseUrl)),
  databaseStats: () => unwrap(commands.databaseStats()),
  deletionPlan: (selection: RunSelection) => unwrap(commands.deletionPlan(selection)),
  deleteRuns: (selection: RunSelection) => unwrap(commands.deleteRuns(selection)),
  restoreRuns: (runIds: string[]) => unwrap(commands.restoreRuns(runIds)),
  traceDeletionPlan: (traceIds: string[]) => unwrap(commands.traceDeletionPlan(traceIds)),
  deleteTraces: (traceIds: string[]) => unwrap(commands.deleteTraces(traceIds)),
  restoreTraces: (traceIds: string[]) => unwrap(commands.restoreTraces(traceIds)),
  syncState: () => unwrap(commands.syncState()),
  syncNow: () => unwrap(commands.syncNow()),
  setTursoToken: (token: string | null) => unwrap(commands.setTursoToken(token)),
  /** Subscribes to background sync reports; returns the unsubscribe function. */
  onSync: (state: (s: SyncState) => void) => events.syncState.listen((e) => state(e.payload)),
  traces: (filter: TraceFilter) => unwrap(commands.traces(filter)),
  trace: (id: string) => unwrap(commands.trace(id)),
  searchSpans: (query: SearchQuery) => unwrap(commands.searchSpans(query)),
  replaySpan: (request: ReplayRequest) => unwrap(commands.replaySpan(request)),
  spanRequest: (spanId: string) => unwrap(commands.spanRequest(spanId)),
  playground: (request: PlaygroundRequest) => unwrap(commands.playground(request)),
  importSpans: (fileName: string, text: string) => unwrap(commands.importSpans(fileName, text)),
  rateSpan: (spanId: string, rating: number) => unwrap(commands.rateSpan(spanId, rating)),
  /** Subscribes to calls starting and spans being stored; returns the unsubscribe function. */
  onSpans: (activity: (a: SpanActivity) => void) => events.spanActivity.listen((e) => activity(e.payload)),
  estimate: (request: BatchRequest) => unwrap(commands.estimate(request)),
  startBatch: (request: BatchRequest) => unwrap(commands.startBatch(request)),
  resumeBatch: (runId: string) => unwrap(commands.resumeBatch(runId)),
  cancelBatch: (runId: string) => commands.cancelBatch(runId),
  analytics: (range: string, source: string | null) => unwrap(commands.analytics(range, source)),
  langfuseState: () => unwrap(commands.langfuseState()),
  importLangfuseNow: () => unwrap(commands.importLangfuseNow()),
  setLangfuseSecret: (key: string | null) => unwrap(commands.setLangfuseSecret(key)),
  agents: () => unwrap(commands.agents()),
  agentTraces: (name: string) => unwrap(commands.agentTraces(name)),
  conversation: (traceId: string) => unwrap(commands.conversation(traceId)),
  /** Subscribes to the Langfuse import's state; returns the unsubscribe function. */
  onLangfuse: (state: (s: LangfuseState) => void) => events.langfuseState.listen((e) => state(e.payload)),
  datasets: () => unwrap(commands.datasets()),
  checkDatasetFile: (path: string) => unwrap(commands.checkDatasetFile(path)),
  importDatasetFile: (path: string, name: string | null) => unwrap(commands.importDatasetFile(path, name)),
  prompts: () => unwrap(commands.prompts()),
  promptVersions: (name: string) => unwrap(commands.promptVersions(name)),
  savePrompt: (name: string, text: string) => unwrap(commands.savePrompt(name, text)),
  renamePrompt: (from: string, to: string) => unwrap(commands.renamePrompt(from, to)),
  promptLineage: (name: string) => unwrap(commands.promptLineage(name)),
  diffTexts: (oldText: string, newText: string) => commands.diffTexts(oldText, newText),
  missingColumns: (datasetId: string, text: string) => unwrap(commands.missingColumns(datasetId, text)),
  grids: () => unwrap(commands.grids()),
  gridPage: (runId: string, offset: number, limit: number) => unwrap(commands.gridPage(runId, offset, limit)),
  startGrid: (request: GridRequest) => unwrap(commands.startGrid(request)),
  rerunGrid: (runId: string, which: Rerun) => unwrap(commands.rerunGrid(runId, which)),
  cancelGrid: (runId: string) => commands.cancelGrid(runId),
  cellEvents: (cellId: string) => unwrap(commands.cellEvents(cellId)),
  gradeCell: (cellId: string, pass: boolean | null) => unwrap(commands.gradeCell(cellId, pass)),
  exportGrid: (runId: string, path: string) => unwrap(commands.exportGrid(runId, path)),
  /** Subscribes to grid events; returns the unsubscribe function. */
  onGrid: async (activity: (a: GridActivity) => void, finished: (f: GridFinished) => void) => {
    const offs = await Promise.all([
      events.gridActivity.listen((e) => activity(e.payload)),
      events.gridFinished.listen((e) => finished(e.payload)),
    ]);
    return () => offs.forEach((off) => off());
  },
  /** Subscribes to batch events; returns the unsubscribe function. */
  onBatch: async (progress: (p: BatchProgress) => void, finished: (f: BatchFinished) => void) => {
    const offs = await Promise.all([
      events.batchProgress.listen((e) => progress(e.payload)),
      events.batchFinished.listen((e) => finished(e.payload)),
    ]);
    return () => offs.forEach((off) => off());
  },
};
