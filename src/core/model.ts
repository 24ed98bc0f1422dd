// The things Orderly reasons about (semantics §1–2). Plain data: JSON in, JSON out.
// The internal workflow shape *is* the JS7 inventory shape, normalised (one `demands`
// list per Lock, `returnCodeMeaning` inside the executable), so import/export is thin.

import type { AdmissionTimeScheme } from './admission.js';

export type { AdmissionPeriod, AdmissionTimeScheme } from './admission.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Limits on everything, unit last. */
export const LIMITS = {
  nameLengthMax: 128,
  lockLimitMax: 1_000_000,
  demandsPerLockMax: 16,
  instructionsMax: 10_000,
  nestingDepthMax: 32,
  jobsMax: 1_000,
  scriptBytesMax: 256 * 1024,
  argumentsMax: 200,
  argumentValueBytesMax: 64 * 1024,
  priorityAbsMax: 1_000_000,
  timeoutSecondsMax: 7 * 24 * 3600,
  retryDelaysMax: 100,
  maxTriesMax: 1_000_000,
  parallelismMax: 100_000,
  /** Grants a writer may make ahead of the journal for jobs it starts before their commit. */
  tokenHeadroomMax: 1_000_000,
  messageLengthMax: 4096,
  /** Characters of one expression (JS7's expression language). */
  expressionLengthMax: 64 * 1024,
  /** Nesting of one expression (parentheses, operators, calls). */
  expressionDepthMax: 100,
  sleepSecondsMax: 366 * 24 * 3600,
  /** Aliases of one job config. */
  aliasesPerJobConfigMax: 16,
  /** Bytes (as JSON) of the fields a client gave that Orderly keeps and returns unread. */
  clientFieldsBytesMax: 64 * 1024,
  forkBranchesMax: 1_000,
  /** Child orders of one ForkList. */
  forkListChildrenMax: 10_000,
  /** Schemes of one Cycle schedule, and periods of one scheme. */
  cycleSchemesMax: 100,
  cyclePeriodsMax: 1_000,
  /** Offsets of one Periodic repeat. */
  cycleOffsetsMax: 1_000,
  /** Periods of one admissionTimeScheme. */
  admissionPeriodsMax: 1_000,
  /** Length of one admission period. */
  admissionDurationSecondsMax: 366 * 24 * 3600,
  /** Job resources named by one job or workflow. */
  jobResourceNamesMax: 100,
} as const;

export type QueuePolicy = 'fifo' | 'greedy';

/** Run again after a lost execution (`restartable`, or JS7's `isNotRestartable: false`); default no. */
export function isRestartable(job: Pick<Job, 'restartable' | 'isNotRestartable'>): boolean {
  return job.restartable ?? job.isNotRestartable === false;
}

/**
 * A JS7 job resource (`<name>.jobresource.json`): arguments and environment variables shared
 * by the jobs that name it (src/core/job-execution.ts). Values are expressions, evaluated when
 * such a job starts, without the order's arguments (as in JS7); `env` sees `arguments`.
 */
export interface JobResourceDef {
  name: string;
  arguments?: Record<string, ArgumentValue>;
  env?: Record<string, string>;
  title?: string;
  documentationName?: string;
}

export interface LockDef {
  name: string;
  /** Whole number ≥ 0; 0 closes the lock (an operator's gate). */
  limit: number;
  title?: string;
  /** JOC Cockpit documentation reference: kept and exported. */
  documentationName?: string;
  /** A keyed lock is a family: each key value is its own instance with the family's limit. */
  keyed?: boolean;
  /** Queue discipline, `fifo` by default (semantics §3.4). */
  policy?: QueuePolicy;
}

/** `count` absent = exclusive. `key` selects the instance of a keyed lock: `$arg` reads an order argument, anything else is literal. */
export interface Demand {
  lockName: string;
  count?: number;
  key?: string;
}

export interface Block {
  instructions: Instruction[];
}

interface Labelled {
  label?: string;
}

export interface ExecuteNamed extends Labelled {
  TYPE: 'Execute.Named';
  jobName: string;
  defaultArguments?: Record<string, ArgumentValue>;
}
export interface LockInstr extends Labelled {
  TYPE: 'Lock';
  demands: Demand[];
  lockedWorkflow: Block;
  /** Seconds to wait for the locks; 0 = do not wait; absent = wait for ever. */
  waitTimeout?: number;
}
export interface OptionsInstr extends Labelled {
  TYPE: 'Options';
  stopOnFailure?: boolean;
  block: Block;
}
export interface TryInstr extends Labelled {
  TYPE: 'Try';
  maxTries?: number;
  /** Seconds; the last delay repeats. */
  retryDelays?: number[];
  try: Block;
  catch: Block;
}
export interface RetryInstr extends Labelled {
  TYPE: 'Retry';
}
/** Values a Fail or Finish gives the order's outcome (`returnCode` among them sets the return code). */
export type NamedValues = Record<string, string | number | boolean>;

export interface FailInstr extends Labelled {
  TYPE: 'Fail';
  message?: string;
  /** Older JS7 files: `{"returnCode": 1}`. */
  outcome?: { returnCode?: number };
  namedValues?: NamedValues;
  uncatchable?: boolean;
}
export interface FinishInstr extends Labelled {
  TYPE: 'Finish';
  message?: string;
  unsuccessful?: boolean;
  /** JS7 engine form: `{"TYPE": "Succeeded" | "Failed", "namedValues": {...}}`. */
  outcome?: { TYPE: 'Succeeded' | 'Failed'; namedValues?: NamedValues };
}
/** One condition of an If: the first whose predicate is true runs its `then` block. */
export interface IfThen {
  predicate: string;
  then: Block;
}
/**
 * JS7's If, in either of its forms, kept as given: `ifThens` (current) or `predicate` +
 * `then` (up to 2.7.1); `else` in both. Branches: `then` (the first), `then+N` (N ≥ 2), `else`.
 */
export interface IfInstr extends Labelled {
  TYPE: 'If';
  predicate?: string;
  then?: Block;
  ifThens?: IfThen[];
  else?: Block;
}
/** A branch of a Fork: its block runs as a child order; `result` (names → expressions, evaluated on the child at its end) is merged into the parent's arguments at the join. */
export interface ForkBranch {
  id: string;
  workflow: Block & { result?: Record<string, string> };
}
/** JS7's Fork: each branch runs as a child order `<parent>|<id>`; the parent waits (`forked`) and joins when all have ended. Branch `fork+<id>`. */
export interface ForkInstr extends Labelled {
  TYPE: 'Fork';
  branches: ForkBranch[];
  /** A failed child ends its branch (instead of waiting for an operator) and fails the parent at the join. */
  joinIfFailed?: boolean;
}
/**
 * JS7's ForkList (JOC Cockpit's form): a child order per element of a list, each running
 * `workflow` (branch `fork`) with the parent's arguments and the element's fields. The child
 * of element n (from 1) is `<parent>|<n>.<value of its childToId field>`.
 */
export interface ForkListInstr extends Labelled {
  TYPE: 'ForkList';
  /** The name of a List argument (`accounts`), or an expression giving a list (`$accounts`). */
  children: string;
  /** The field of each element that names its child order. */
  childToId: string;
  /** `result`: names → expressions evaluated on each child at its end; the parent gets a list of them (in the children's order). */
  workflow: Block & { result?: Record<string, string> };
  joinIfFailed?: boolean;
  /** Where JS7 runs the children; one node runs them all (kept and exported). */
  agentName?: string;
}
/**
 * JS7's AddOrder: adds an order to another workflow (`workflowName`, JOC Cockpit's spelling)
 * with `arguments` evaluated as expressions on the adding order, which goes on at once. The new
 * order's id is `#<date>#D<NN>-<adding order's main id>` (NN: the AddOrder's number in its
 * workflow). It is deleted when it finishes or is cancelled unless `remainWhenTerminated`
 * (or, in JS7's engine spelling, `deleteWhenTerminated: false`).
 */
export interface AddOrderInstr extends Labelled {
  TYPE: 'AddOrder';
  workflowName: string;
  arguments?: Record<string, string>;
  remainWhenTerminated?: boolean;
  deleteWhenTerminated?: boolean;
}
/**
 * A JS7 notice board (`<name>.noticeboard.json`): the notice an order posts or expects is named
 * by an expression evaluated on the order (by default in JS7 the order's daily-plan date);
 * a notice lives until `endOfLife` (an expression giving ms since the epoch).
 */
export interface NoticeBoardDef {
  name: string;
  postOrderToNoticeId: string;
  expectOrderToNoticeId: string;
  endOfLife: string;
  title?: string;
  documentationName?: string;
}
/** Posts a notice on each board (the order goes on at once). */
export interface PostNoticesInstr extends Labelled {
  TYPE: 'PostNotices';
  noticeBoardNames: string[];
}
/** Waits (`waitingFor: notice`) until the notices of the boards named are posted: `'A'`, `'A' && 'B'`, `'A' || 'B'`. */
export interface ExpectNoticesInstr extends Labelled {
  TYPE: 'ExpectNotices';
  noticeBoardNames: string;
}
/** As ExpectNotices, then runs `subworkflow` (branch `consumeNotices`) and deletes the notices at its end. */
export interface ConsumeNoticesInstr extends Labelled {
  TYPE: 'ConsumeNotices';
  noticeBoardNames: string;
  subworkflow: Block;
}
/**
 * A period of a Cycle scheme's `admissionTimeScheme`, in the workflow's time zone (seconds):
 * every day from `secondOfDay`, or every week from `secondOfWeek` (0 = Monday 00:00).
 */
export type CyclePeriod =
  | { TYPE: 'DailyPeriod'; secondOfDay: number; duration: number }
  | { TYPE: 'WeekdayPeriod'; secondOfWeek: number; duration: number };
/** How a Cycle repeats inside a period (seconds). */
export type CycleRepeat =
  /** At these offsets into each `period` (counted from local midnight of 1970-01-01). */
  | { TYPE: 'Periodic'; period: number; offsets: number[] }
  /** Every `interval`, from the period's start. */
  | { TYPE: 'Ticking'; interval: number }
  /** Again `pause` after each cycle ended, at most `limit` cycles per period. */
  | { TYPE: 'Continuous'; pause: number; limit?: number };
export interface CycleScheme {
  admissionTimeScheme: { periods: CyclePeriod[] };
  repeat: CycleRepeat;
}
/** JS7's Cycle: runs `cycleWorkflow` again and again as its schedule says, until the end of the order's day (branch `cycle`). */
export interface CycleInstr extends Labelled {
  TYPE: 'Cycle';
  schedule: { schemes: CycleScheme[] };
  cycleWorkflow: Block;
  /** Cycling ends when the first period used has ended. */
  onlyOnePeriod?: boolean;
}
/** Leaves the innermost Cycle: the order goes on after it. */
export interface BreakInstr extends Labelled {
  TYPE: 'Break';
}
/** A job defined in place (JS7 `Execute.Anonymous`). */
export interface ExecuteAnonymous extends Labelled {
  TYPE: 'Execute.Anonymous';
  job: Job;
  defaultArguments?: Record<string, ArgumentValue>;
}
/** Waits `duration` seconds: a number, or an expression (`"60"`, `"$delay"`). */
export interface SleepInstr extends Labelled {
  TYPE: 'Sleep';
  duration: number | string;
}
/** Waits (state `prompting`) until an operator confirms or cancels the order. */
export interface PromptInstr extends Labelled {
  TYPE: 'Prompt';
  /** An expression: `'Continue?'`. */
  question: string;
}
/** JS7 keeps the jobs of the block on one subagent; on one node the block simply runs. */
export interface StickySubagentInstr extends Labelled {
  TYPE: 'StickySubagent';
  agentName?: string;
  subagentClusterIdExpr?: string;
  subworkflow: Block;
}

export type Instruction =
  | ExecuteNamed
  | ExecuteAnonymous
  | SleepInstr
  | PromptInstr
  | StickySubagentInstr
  | IfInstr
  | ForkInstr
  | ForkListInstr
  | AddOrderInstr
  | PostNoticesInstr
  | ExpectNoticesInstr
  | ConsumeNoticesInstr
  | CycleInstr
  | BreakInstr
  | LockInstr
  | OptionsInstr
  | TryInstr
  | RetryInstr
  | FailInstr
  | FinishInstr;

/**
 * Return codes: a list like `"0,3..5"`, or JS7's array form `[0, [3, 5]]` (a pair is an
 * inclusive range).
 */
export type ReturnCodeList = string | (number | [number, number])[];

export interface ReturnCodeMeaning {
  success?: ReturnCodeList;
  failure?: ReturnCodeList;
}

/**
 * An argument value as a workflow gives it: a string is a JS7 expression (`"'text'"`,
 * `"1 + 2"`, `"$arg"`); a number or a boolean (older JS7 files) is that value.
 */
export type ArgumentValue = string | number | boolean;

export interface ShellExecutable {
  TYPE: 'ShellScriptExecutable';
  script: string;
  /** Environment of the process; each value is an expression (`"$arg"`, `"'text'"`, `"$n + 1"`). */
  env?: Record<string, string>;
  returnCodeMeaning?: ReturnCodeMeaning;
  /** JS7's compatibility flag for JobScheduler 1 scripts; only `false` is supported. */
  v1Compatible?: false;
}
/** A program file run as the job (JS7 `PathExecutable`), with the environment as for a script. */
export interface PathExecutable {
  TYPE: 'PathExecutable';
  path: string;
  env?: Record<string, string>;
  returnCodeMeaning?: ReturnCodeMeaning;
  v1Compatible?: false;
}
/** A command line run by the shell (JS7 `CommandLineExecutable`). */
export interface CommandLineExecutable {
  TYPE: 'CommandLineExecutable';
  command: string;
  env?: Record<string, string>;
  returnCodeMeaning?: ReturnCodeMeaning;
}
/** A function registered by the embedding program (Orderly's own executable type). */
export interface FunctionExecutable {
  TYPE: 'FunctionExecutable';
  functionName: string;
  returnCodeMeaning?: ReturnCodeMeaning;
}
export type Executable = ShellExecutable | PathExecutable | CommandLineExecutable | FunctionExecutable;

export interface Job {
  executable: Executable;
  /** Where the job runs. One node runs every agent's jobs; the name is kept (and exported). */
  agentName?: string;
  /** JS7 subagent selection: kept and exported; one node is its own single subagent. */
  subagentClusterId?: string;
  subagentClusterIdExpr?: string;
  withSubagentClusterIdExpr?: boolean;
  /** At most this many executions at once (default 1). */
  parallelism?: number;
  /** Seconds before SIGTERM to the process group. */
  timeout?: number;
  /** Seconds between SIGTERM and SIGKILL (default 15). */
  graceTimeout?: number;
  defaultArguments?: Record<string, ArgumentValue>;
  /** Run again (instead of failing `disrupted`) when the node running it died. */
  restartable?: boolean;
  /** JS7's spelling of the opposite of `restartable` (used when `restartable` is absent). */
  isNotRestartable?: boolean;
  /** An execution that wrote to stderr fails (even with a successful return code). */
  failOnErrWritten?: boolean;
  /** An execution that wrote to stderr succeeds with a warning in its outcome's message. */
  warnOnErrWritten?: boolean;
  /** Metadata, kept and exported. */
  title?: string;
  documentationName?: string;
  criticality?: string;
  /** When the job may start (src/core/admission.ts); an order outside waits (`waitingFor: admission`). */
  admissionTimeScheme?: AdmissionTimeScheme;
  /** The order skips the job when no admission period starts on its day (src/core/admission.ts). */
  skipIfNoAdmissionForOrderDay?: boolean;
  /** Only `false` (kept for export): a job started inside its admission period runs to its end. */
  killAtEndOfAdmissionPeriod?: false;
  /** Job resources supplying arguments and env to the job (the first named wins a name). */
  jobResourceNames?: string[];
}

/** JS7 `orderPreparation` (src/core/order-preparation.ts). */
export type ParameterType = 'String' | 'Number' | 'Boolean' | 'List' | 'Map';
export type SimpleParameterType = 'String' | 'Number' | 'Boolean';

export interface Parameter {
  type: ParameterType;
  /** An expression (or, in older files, a number or boolean), used when the order gives no value. */
  default?: string | number | boolean;
  /** An expression always used: the order may not give this parameter. */
  final?: string;
  /** String: a regular expression the whole value must match. */
  facet?: string;
  /** String: the message when the facet does not match. */
  message?: string;
  /** String: the allowed values. */
  list?: string[];
  /** List and Map: the fields of each element (List) or of the map (Map). */
  listParameters?: Record<string, { type: SimpleParameterType }>;
  description?: string;
}

export interface OrderPreparation {
  parameters?: Record<string, Parameter>;
  allowUndeclared?: boolean;
}

export interface Workflow {
  name: string;
  title?: string;
  documentationName?: string;
  timeZone?: string;
  orderPreparation?: OrderPreparation;
  /** Job resources of every job of the workflow (after the job's own). */
  jobResourceNames?: string[];
  instructions: Instruction[];
  jobs: Record<string, Job>;
}

/** A JS7-style path: `[1, "lock", 0]`. Branches: lock, options, try+N, catch+N, stickySubagent. */
export type Position = (number | string)[];

export type OrderState =
  | 'scheduled'
  | 'ready'
  | 'waiting'
  /** A Prompt waits for an operator's confirm. */
  | 'prompting'
  /** A Fork's parent waits for its children to end. */
  | 'forked'
  | 'processing'
  | 'failed'
  | 'stopped'
  | 'cancelled'
  | 'finished';

/** Every order state, in the order of an order's life. */
export const ORDER_STATES: readonly OrderState[] = ['scheduled', 'ready', 'waiting', 'prompting', 'forked', 'processing', 'failed', 'stopped', 'cancelled', 'finished'];

export const ENDED_STATES: ReadonlySet<OrderState> = new Set(['cancelled', 'finished']);

export type OutcomeReason =
  | 'returnCode'
  | 'exception'
  | 'timeout'
  | 'disrupted'
  | 'start-failed'
  | 'stderr-written'
  | 'killed'
  | 'lock-wait-timeout'
  | 'lock-demand-exceeds-limit'
  | 'lock-key-collision'
  | 'lock-key-missing'
  | 'fail-instruction'
  | 'finish-instruction'
  /** A Fork joined with a failed or cancelled child. */
  | 'child-failed'
  /** An AddOrder could not add its order (arguments, the target's parameters, the id). */
  | 'add-order-failed'
  /** The order took more than STEPS_PER_ADVANCE_MAX instructions without waiting (e.g. a loop of Retry). */
  | 'step-limit'
  /** A Retry instruction reached outside a catch block. */
  | 'retry-outside-catch'
  | 'expression-error'
  | 'retries-exhausted'
  | 'replaced';

export interface Outcome {
  type: 'succeeded' | 'failed';
  reason?: OutcomeReason;
  returnCode?: number;
  signal?: string;
  message?: string;
  /** Values given by a Fail or Finish instruction. */
  namedValues?: NamedValues;
}

/** What a waiting order waits for. */
export type WaitingFor =
  | { kind: 'locks'; locks: string[] }
  | { kind: 'job'; job: string }
  /** A Sleep instruction. */
  | { kind: 'time'; until: number }
  | { kind: 'retry'; until: number }
  /** Between the cycles of a Cycle: the next one starts at `until`. */
  | { kind: 'cycle'; until: number }
  /** The job's admissionTimeScheme: the next period opens at `until` (absent: none within the next 1096 days). */
  | { kind: 'admission'; job: string; until?: number }
  /** An ExpectNotices or ConsumeNotices: the notices (`board:noticeId`) it waits for. */
  | { kind: 'notice'; notices: string[] };

/** Where an order stands in a Cycle (JS7's cycle state): kept from one cycle to the next. */
export interface CycleState {
  /** Position of the Cycle instruction. */
  at: Position;
  /** Cycling ends here (ms): the end of the order's day. */
  end: number;
  schemeIndex: number;
  periodIndex: number;
  /** Cycles started in the current period (0 before the first). */
  index: number;
  /** When the next cycle starts (ms); 0 before the first is known. */
  next: number;
}

export interface Grant {
  /** Lock instance name: the lock's name, or `name[key]` for a keyed lock. */
  lock: string;
  /** Absent = exclusive. */
  count?: number;
  token: number;
}

export interface HeldLocks {
  /** Position of the Lock instruction whose block holds these. */
  at: Position;
  grants: Grant[];
  since: number;
}

export interface ResolvedDemand {
  lock: string;
  family: string;
  count?: number;
}

export interface Order {
  id: string;
  workflow: string;
  /** The job config this order is a run of. */
  jobConfig?: string;
  /** Runs of the job config one at a time (scheduled with overlap `queue`), whatever `blocking` says. */
  serialized?: boolean;
  version: number;
  arguments: Record<string, string>;
  priority: number;
  scheduledFor?: number;
  addedAt: number;
  position: Position;
  state: OrderState;
  suspended: boolean;
  /** Suspend requested while processing or waiting for locks: takes effect at the next boundary. */
  suspendPending?: boolean | undefined;
  /** Cancel requested while processing (the job ends first, or is killed). */
  cancelPending?: { kill: boolean } | undefined;
  waitingFor?: WaitingFor | undefined;
  /** For waiting orders: their place in line (lower = earlier). */
  arrival?: number | undefined;
  /** Set while waiting for locks. */
  demands?: ResolvedDemand[] | undefined;
  /** When the current wait began (ms). */
  waitingSince?: number | undefined;
  /** Waiting for the run lock of its job config. */
  waitingImplicit?: true | undefined;
  /** Wait deadline for locks (ms), if the Lock has a waitTimeout. */
  waitUntil?: number | undefined;
  /** The lock stack, outermost first. */
  held: HeldLocks[];
  /** The running execution, while processing. */
  execution?: { id: string; job: string; startedAt: number; worker?: string; lease?: number; attempt?: number } | undefined;
  executions: number;
  /** While prompting: the question asked. */
  prompt?: string | undefined;
  /** A child of a Fork: the parent order's id. */
  parent?: string;
  /** Added by an AddOrder instruction: deleted when it finishes or is cancelled. */
  deleteWhenTerminated?: true;
  /** Added by an AddOrder instruction of this order. */
  addedBy?: string;
  /** While forked: the child orders' ids. */
  children?: string[] | undefined;
  /** The Cycles the order is in or between the cycles of, outermost first. */
  cycles?: CycleState[] | undefined;
  /** Executions of the current step whose worker was lost: the next one is attempt `lostAttempts + 1`. */
  lostAttempts?: number | undefined;
  outcome?: Outcome;
  endedAt?: number;
}

// ---------------------------------------------------------------- job configs (semantics §5, §8)

export type OverlapPolicy = 'queue' | 'skip' | 'allow' | 'replace';
export type CatchUpPolicy = 'none' | 'latest' | 'all';

/** When a job config runs by itself. Cron strings are checked by src/schedule before they reach the core. */
export interface Schedule {
  type: 'cron' | 'interval';
  /** 5 or 6 fields (with seconds), for type cron. */
  cron?: string;
  /** Seconds between fires, for type interval. */
  intervalSeconds?: number;
  /** IANA time zone (default Etc/UTC). */
  timeZone?: string;
  /** Default: `queue` when the job config is blocking, else `allow`. */
  overlap?: OverlapPolicy;
  /** At most this many runs waiting; further fires are skipped. */
  queueLimit?: number;
  /** Missed fires after downtime (default `latest`). */
  catchUp?: CatchUpPolicy;
  name?: string;
  description?: string;
}

export interface JobTemplate {
  id: string;
  name: string;
  description?: string;
  active: boolean;
  /** Default `blocking` of the job configs deriving from this template. */
  blocking?: boolean;
  defaultArguments?: Record<string, string>;
  /** Seconds. */
  timeout?: number;
  /** What a client gave that Orderly does not use, kept and returned as given (see JobConfig). */
  clientFields?: { [key: string]: Json };
}

export interface JobConfig {
  id: string;
  name: string;
  /** Runs this workflow… */
  workflow?: string;
  /** …or this one shell command (exactly one of the two). */
  command?: string;
  defaultArguments?: Record<string, string>;
  /** Seconds: the time limit of each job execution of a run that has none of its own. */
  timeout?: number;
  active: boolean;
  /** Absent: the template's, else false. */
  blocking?: boolean;
  templateId?: string;
  description?: string;
  schedule?: Schedule;
  /**
   * What a client gave that Orderly does not use (e.g. Actian's `runtimeConfig.packageName`,
   * `tags`), kept and returned as given: at most LIMITS.clientFieldsBytesMax as JSON.
   */
  clientFields?: { [key: string]: Json };
  created: number;
  modified: number;
}

/**
 * A name under which a job config can be run by a caller holding only an api key (and, when
 * set, a secret): `POST /v2/api/listener/{name}`. Only SHA-256 hashes of the key and the
 * secret are kept (they are random, generated by Orderly).
 */
export interface JobConfigAlias {
  name: string;
  /** SHA-256 of the api key, hex. */
  keyHash: string;
  /** SHA-256 of the api secret, hex: present when the alias has a secret. */
  secretHash?: string;
  created: number;
}

export interface FireRecord {
  fireAt: number;
  orderId?: string;
  skipped?: string;
  /** A skip record standing for this many fires, the newest at fireAt. */
  count?: number;
}
