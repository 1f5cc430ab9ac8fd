/**
 * Working with saved sessions on top of any persister: resume or fork (Burr's
 * `ApplicationBuilder.initialize_from`), save after every step (the hook Burr's
 * `with_state_persister` installs), and walk paged listings to the end.
 */
import { InvalidArgumentError, NotFoundError, StateAlreadyExistsError, type ErrorContext } from './errors.js';
import type { JsonObject } from './json.js';
import { FORK_KEY, forkSourceJson, parseForkSource, withoutLineage } from './lineage.js';
import { isStateLike } from './brand.js';
import type { State } from './state.js';
import type {
  AppSummary,
  ForkSource,
  HistoryStep,
  ListHistoryOptions,
  PageOptions,
  PartitionKeysPage,
  AppsPage,
  HistoryPage,
  PersistedStateData,
  PersistedStatus,
  SaveParams,
  StateLoader,
  StateSaver,
} from './types.js';
import { normalizePartitionKey, validateAppId, validatePosition, validateSequenceId } from './validation.js';

export { FORK_KEY };

/** What `initializeFrom` takes: Burr's `initialize_from` arguments. */
export interface InitializeFromOptions {
  partitionKey: string | null | undefined;
  appId: string;
  /** The state of a new app (serialized, or a `State`). */
  defaultState: Readonly<Record<string, unknown>> | State;
  /** Where a new app starts. */
  defaultEntrypoint: string;
  /**
   * `true`: continue after the loaded step (its action already ran; the caller's transitions pick
   * the next). `false`: run the loaded step's action again. As Burr's `resume_at_next_action`.
   * @default true
   */
  resumeAtNextAction?: boolean;
  /**
   * Start the app `appId` as a copy of another app's step (its latest when no `sequenceId`). The
   * source is never written to; `appId` must not have a step yet. The fork's first step, saved
   * by `initializeFrom`, records the source in its state's `__burr_edge_fork__` field.
   */
  forkFrom?: { partitionKey?: string | null; appId: string; sequenceId?: number | null };
}

/** Where `initializeFrom` left the app. */
export interface InitializeFromResult {
  partitionKey: string;
  appId: string;
  /** `fresh`: no step (defaults used); `resumed`: the app's latest step; `forked`: a copy of another app's step. */
  origin: 'fresh' | 'resumed' | 'forked';
  /** The serialized state to continue from (revive with `State.deserialize`); the lineage field is left out. */
  state: JsonObject;
  /** The step the state comes from: `null` when fresh. */
  position: string | null;
  status: PersistedStatus | null;
  /** Sequence id of the step the state comes from; `null` when fresh. */
  sequenceId: number | null;
  /** Sequence id the next saved step takes. */
  nextSequenceId: number;
  /**
   * The action to run next when the persister layer can tell: the default entrypoint when
   * fresh, the loaded step's position when `resumeAtNextAction` is false; `null` when the
   * caller's transitions pick what follows `position`.
   */
  entrypoint: string | null;
  /**
   * On a fork, the step it copies; on a resume, the fork's source while the app's latest step is
   * still its first (afterwards, `listHistory`'s oldest step carries it).
   */
  forkedFrom?: ForkSource;
}

function serializedOf(state: InitializeFromOptions['defaultState'], ctx: ErrorContext): JsonObject {
  if (isStateLike(state)) return state.serialize() as JsonObject;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new InvalidArgumentError('defaultState', 'must be a plain object or a State', ctx);
  return state as JsonObject;
}

/**
 * Resumes an app from its latest step, starts it from the defaults when it has none, or forks it
 * from another app's step (Burr's `initialize_from`). A fork reads the source and saves the new
 * app's first step — a copy of the source step that names where it came from — with
 * `expectedSequenceId: null`, so two concurrent forks into one app id cannot both win; the
 * source is never written. A fork source that does not exist is a `NotFoundError`.
 *
 * Costs: one load; a fork adds one save.
 */
export async function initializeFrom(
  persister: StateLoader & Partial<StateSaver>,
  options: InitializeFromOptions,
): Promise<InitializeFromResult> {
  const ctx: ErrorContext = { operation: 'initializeFrom' };
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'initializeFrom() takes one object argument', ctx);
  const partitionKey = normalizePartitionKey(options.partitionKey, ctx);
  const appId = validateAppId(options.appId, ctx);
  const defaultEntrypoint = validatePosition(options.defaultEntrypoint, ctx);
  const defaultState = serializedOf(options.defaultState, ctx);
  const resumeAtNextAction = options.resumeAtNextAction ?? true;
  const continueFrom = (loaded: PersistedStateData, origin: 'resumed' | 'forked', forkedFrom?: ForkSource): InitializeFromResult => ({
    partitionKey,
    appId,
    origin,
    state: withoutLineage(loaded.state),
    position: loaded.position,
    status: loaded.status,
    sequenceId: loaded.sequenceId,
    nextSequenceId: loaded.sequenceId + 1,
    entrypoint: resumeAtNextAction ? null : loaded.position,
    ...(forkedFrom ? { forkedFrom } : {}),
  });

  if (options.forkFrom === undefined || options.forkFrom === null) {
    const latest = await persister.load(partitionKey, appId);
    if (latest) return continueFrom(latest, 'resumed', parseForkSource(latest.state[FORK_KEY]));
    return { partitionKey, appId, origin: 'fresh', state: defaultState, position: null, status: null, sequenceId: null, nextSequenceId: 0, entrypoint: defaultEntrypoint };
  }

  const fork = options.forkFrom;
  const sourcePartition = fork.partitionKey === undefined ? partitionKey : normalizePartitionKey(fork.partitionKey, ctx);
  const sourceApp = validateAppId(fork.appId, { ...ctx });
  const sourceSequence = fork.sequenceId === undefined || fork.sequenceId === null ? undefined : validateSequenceId(fork.sequenceId, ctx);
  if (sourcePartition === partitionKey && sourceApp === appId) throw new InvalidArgumentError('forkFrom', 'names the app being initialized; a fork starts a new app id', ctx);
  if (typeof persister.save !== 'function') throw new InvalidArgumentError('persister', 'a fork saves the new app\'s first step: pass a persister that can save', ctx);
  const source = await persister.load(sourcePartition, sourceApp, sourceSequence);
  if (!source) {
    const which = sourceSequence === undefined ? 'has no step' : `has no step ${sourceSequence}`;
    throw new NotFoundError(`cannot fork: partitionKey=${JSON.stringify(sourcePartition)}, appId=${JSON.stringify(sourceApp)} ${which}; nothing was written`, ctx);
  }
  const forkedFrom: ForkSource = { partitionKey: sourcePartition, appId: sourceApp, sequenceId: source.sequenceId };
  const firstStep: SaveParams = {
    partitionKey,
    appId,
    sequenceId: source.sequenceId,
    position: source.position,
    status: source.status,
    state: { [FORK_KEY]: forkSourceJson(forkedFrom), ...withoutLineage(source.state) },
    expectedSequenceId: null,
  };
  try {
    await persister.save(firstStep);
  } catch (error) {
    // The app exists already (another fork, or an app of that id): say so in words about forks.
    if (error instanceof StateAlreadyExistsError || (error as { code?: unknown })?.code === 'CONCURRENT_UPDATE') {
      throw new InvalidArgumentError('appId', `${JSON.stringify(appId)} already has steps in partition ${JSON.stringify(partitionKey)}; fork into a new app id (nothing was written)`, { ...ctx, cause: error });
    }
    throw error;
  }
  return continueFrom({ ...source, partitionKey, appId, state: firstStep.state as JsonObject }, 'forked', forkedFrom);
}

/** Options of {@link StepSaver}. */
export interface StepSaverOptions {
  partitionKey: string | null | undefined;
  appId: string;
  /** Sequence id of the first step it saves: `initializeFrom(...).nextSequenceId`. */
  nextSequenceId: number;
  /**
   * Save each step only if the app's latest step is still the one before it (optimistic
   * concurrency), so a second worker on the same session gets `ConcurrentUpdateError` instead of
   * forking the history silently. Every burr-edge backend supports it; a custom persister that
   * does not makes each save fail with `NotSupportedError` — pass `false` for Burr's unconditional saves.
   * @default true
   */
  optimistic?: boolean;
}

/**
 * Saves an application's state after every step, numbering the steps itself — what Burr's
 * persister hook does for `ApplicationBuilder.with_state_persister`, for a plain async loop.
 *
 * @example
 * ```ts
 * const start = await initializeFrom(persister, { partitionKey: 'u', appId: 'chat', defaultState: {}, defaultEntrypoint: 'ask' });
 * const saver = new StepSaver(persister, { partitionKey: 'u', appId: 'chat', nextSequenceId: start.nextSequenceId });
 * let state = State.deserialize(start.state);
 * for (const action of actions) {
 *   try {
 *     state = await action.run(state);
 *     await saver.afterStep(action.name, state);
 *   } catch (error) {
 *     await saver.afterStep(action.name, state, { failed: true }); // Burr saves the state before the failed action
 *     throw error;
 *   }
 * }
 * ```
 */
export class StepSaver {
  readonly #saver: StateSaver;
  readonly #partitionKey: string;
  readonly #appId: string;
  readonly #optimistic: boolean;
  #next: number;

  constructor(saver: StateSaver, options: StepSaverOptions) {
    const ctx: ErrorContext = { operation: 'construct' };
    this.#saver = saver;
    this.#partitionKey = normalizePartitionKey(options.partitionKey, ctx);
    this.#appId = validateAppId(options.appId, ctx);
    this.#next = validateSequenceId(options.nextSequenceId, ctx);
    this.#optimistic = options.optimistic !== false;
  }

  /** The sequence id the next step takes. */
  get nextSequenceId(): number {
    return this.#next;
  }

  /** Saves the state after the action `position` ran (or, with `failed`, the state before it failed). */
  async afterStep(position: string, state: Readonly<Record<string, unknown>> | State, options: { failed?: boolean } = {}): Promise<void> {
    const sequenceId = this.#next;
    await this.#saver.save({
      partitionKey: this.#partitionKey,
      appId: this.#appId,
      sequenceId,
      position,
      state,
      status: options.failed ? 'failed' : 'completed',
      ...(this.#optimistic ? { expectedSequenceId: sequenceId === 0 ? null : sequenceId - 1 } : {}),
    });
    this.#next = sequenceId + 1;
  }
}

/** The listings a session-capable persister has. */
export interface SessionLister {
  listApps(partitionKey: string | null | undefined, options?: PageOptions): Promise<AppsPage>;
  listHistory(partitionKey: string | null | undefined, appId: string, options?: ListHistoryOptions): Promise<HistoryPage>;
  listPartitionKeys(options?: PageOptions): Promise<PartitionKeysPage>;
}

/** Every app of a partition, page by page (`pageSize` per round trip). */
export async function* allApps(persister: Pick<SessionLister, 'listApps'>, partitionKey: string | null | undefined, pageSize = 100): AsyncGenerator<AppSummary> {
  let cursor: string | null = null;
  do {
    const page: AppsPage = await persister.listApps(partitionKey, { limit: pageSize, cursor });
    yield* page.apps;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/** Every step of an app, newest first, page by page. */
export async function* allHistory(
  persister: Pick<SessionLister, 'listHistory'>,
  partitionKey: string | null | undefined,
  appId: string,
  options: { pageSize?: number; withState?: boolean } = {},
): AsyncGenerator<HistoryStep> {
  let before: number | null = null;
  do {
    const page: HistoryPage = await persister.listHistory(partitionKey, appId, { limit: options.pageSize ?? 100, before, withState: options.withState ?? false });
    yield* page.steps;
    before = page.nextBefore;
  } while (before !== null);
}

/** Every partition key, ascending. */
export async function allPartitionKeys(persister: Pick<SessionLister, 'listPartitionKeys'>, pageSize = 1000): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  do {
    const page: PartitionKeysPage = await persister.listPartitionKeys({ limit: pageSize, cursor });
    keys.push(...page.partitionKeys);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return keys;
}
