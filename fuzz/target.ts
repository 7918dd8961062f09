/** What every fuzz target provides to the runner. */
import type { Rng } from './random.js';

/** One generated input: its bytes (saved with a finding) and how it was made. */
export interface FuzzCase {
  /** The mutations and seed input that made it, in words. */
  label: string;
  /** The input itself, saved to fuzz/out/findings/ when it finds something. */
  input: Buffer;
  /** Anything else a reproduction needs (chunk splits, options), saved beside the input as JSON. */
  details?: Record<string, unknown>;
}

export type ProblemKind = 'crash' | 'hang' | 'violation';

/** What went wrong with one case. Several may come from one case. */
export interface Problem {
  kind: ProblemKind;
  message: string;
}

export interface TargetContext {
  /** Free-form counters a target keeps to show its runs are not vacuous (links rewritten, valid tokens...). */
  count(name: string, by?: number): void;
  /** Lines of information for the report (where the corpus was found, what was skipped). */
  note(text: string): void;
  /**
   * Called by a target between the product's work on a case and the harness's checks of its result:
   * from then until the next case, the time is the harness's and is not taken for a hang of the product.
   * Optional to call; without it the whole case is timed.
   */
  checking?(): void;
}

/** A started target: generates cases and runs them. Generation must be a pure function of the Rng. */
export interface TargetSession<C extends FuzzCase = FuzzCase> {
  generate(rng: Rng, index: number): C;
  /** Runs one case; resolves with the problems found (empty when all is well). A throw counts as a crash. */
  execute(testCase: C, ctx: TargetContext): Promise<Problem[]> | Problem[];
  /** Called between batches of cases by the worker for targets with a health probe (redirector). */
  close(): Promise<void> | void;
}

export interface FuzzTarget<C extends FuzzCase = FuzzCase> {
  name: string;
  /** How long one case may take before it is a hang (the supervisor adds a margin before killing). */
  caseTimeoutMs: number;
  start(ctx: TargetContext): Promise<TargetSession<C>>;
  /**
   * Generation only, without starting anything (no daemon, no server): the supervisor uses it to rebuild
   * the input of a case that hung or crashed the worker. Must give the same case as a started session.
   */
  generator(ctx: TargetContext): Promise<(rng: Rng, index: number) => C>;
}

/** The hang limit of the brief: no progress for this long on one input is a hang. */
export const HANG_MS = 5_000;
