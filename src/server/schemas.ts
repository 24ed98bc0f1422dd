// TypeBox schemas of the HTTP API: request bodies, parameters and queries (validated) and
// responses (documented in the OpenAPI document; responses are written with JSON.stringify,
// so a schema can never drop a field). One source for validation and documentation.

import { TIME_MS_MAX, TIME_MS_MIN, TIME_RANGE_TEXT } from '../core/time.js';
import { Type, type Static, type TSchema } from '@sinclair/typebox';

import { LIMITS, ORDER_STATES } from '../core/model.js';

// ---------------------------------------------------------------- shared pieces

export const ProblemItemSchema = Type.Object({
  path: Type.String({ description: 'JSON path of the place in the request, e.g. body.priority' }),
  message: Type.String(),
});

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description:
          'invalid | unauthorized | forbidden | not-found | conflict | lock-order-cycle | state | too-large | unsupported-media-type | internal',
      }),
      message: Type.String(),
      problems: Type.Optional(Type.Array(ProblemItemSchema)),
    }),
  },
  { description: 'Every error answer has this shape.' },
);

/** Names of locks and workflows (semantics: letters, digits, _ . -). */
export const NameSchema = Type.String({
  minLength: 1,
  maxLength: LIMITS.nameLengthMax,
  pattern: '^[A-Za-z0-9_.-]+$',
  errorMessage: `must be 1 to ${LIMITS.nameLengthMax} characters of A-Z a-z 0-9 _ . -`,
});

/** Lock instance names may also be `family[key]`. */
export const LockInstanceNameSchema = Type.String({ minLength: 1, maxLength: 2 * LIMITS.nameLengthMax + 2 });

/** Order ids, also generated workflow names of job configs (`jobconfig:x`). */
export const OrderIdSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.:@#-]+$',
  errorMessage: 'must be 1 to 128 characters of A-Z a-z 0-9 _ . : @ # -',
});

export const WorkflowNameSchema = Type.String({
  minLength: 1,
  maxLength: 2 * LIMITS.nameLengthMax,
  pattern: '^[A-Za-z0-9_.:-]+$',
  errorMessage: 'must be a workflow name: A-Z a-z 0-9 _ . - (and : for generated ones)',
});

export const PositionSchema = Type.Array(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 256 })]), {
  minItems: 1,
  maxItems: 4 * LIMITS.nestingDepthMax + 2,
  description: 'A JS7 position, e.g. [0, "lock", 1]',
  errorMessage: 'must be a position array like [0, "lock", 1]',
});

export const OrderStateSchema = Type.Union(
  ORDER_STATES.map((s) => Type.Literal(s)),
  { errorMessage: `must be one of ${ORDER_STATES.join(', ')}` },
);

const OutcomeSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
    reason: Type.Optional(Type.String()),
    returnCode: Type.Optional(Type.Integer()),
    signal: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

// ---------------------------------------------------------------- views (responses)

export const NamedStepSchema = Type.Object({
  position: Type.Array(Type.Union([Type.Integer(), Type.String()])),
  instruction: Type.String({ description: 'Execute.Named, Lock, Options, Try, … or End' }),
  name: Type.String({ description: 'e.g. `Lock pdSerialLockMulti (shared, weight 1)`, `job job2`' }),
});

export const OrderViewSchema = Type.Object(
  {
    id: Type.String(),
    workflow: Type.String(),
    version: Type.Integer(),
    state: OrderStateSchema,
    suspended: Type.Boolean(),
    position: PositionSchema,
    arguments: Type.Record(Type.String(), Type.String()),
    priority: Type.Integer(),
    scheduledFor: Type.Optional(Type.Number({ description: 'ms since the epoch' })),
    addedAt: Type.Number({ description: 'ms since the epoch' }),
    endedAt: Type.Optional(Type.Number()),
    waitingFor: Type.Optional(
      Type.Object(
        {
          kind: Type.String({ description: 'locks | job | worker (no registered worker runs the job, e.g. its function) | admission (outside the admission periods of the job: `until` the next opens) | time (a Sleep) | retry | cycle (between the cycles of a Cycle, until the next) | notice (an ExpectNotices or ConsumeNotices: notices lists board:noticeId)' }),
          locks: Type.Optional(Type.Array(Type.String())),
          job: Type.Optional(Type.String()),
          until: Type.Optional(Type.Number()),
          since: Type.Optional(Type.Number()),
        },
        { additionalProperties: true },
      ),
    ),
    locks: Type.Array(
      Type.Object({
        lock: Type.String(),
        count: Type.Optional(Type.Integer({ description: 'absent: exclusive' })),
        token: Type.Integer({ description: 'fencing token' }),
        since: Type.Number(),
      }),
      { description: 'Locks held, outermost first' },
    ),
    execution: Type.Optional(
      Type.Object({
        id: Type.String(),
        job: Type.String(),
        startedAt: Type.Number(),
        worker: Type.Optional(Type.String({ description: 'the worker running it' })),
        lease: Type.Optional(Type.Integer({ description: "the worker's lease it was given under" })),
        attempt: Type.Optional(Type.Integer({ description: '1, or more when run again after its worker was lost' })),
      }),
    ),
    parent: Type.Optional(Type.String({ description: "A Fork's child: its parent order" })),
    children: Type.Optional(Type.Array(Type.String(), { description: 'While forked: the child orders' })),
    addedBy: Type.Optional(Type.String({ description: 'Added by an AddOrder instruction of this order' })),
    cycle: Type.Optional(
      Type.Object(
        { index: Type.Integer(), next: Type.Number(), end: Type.Number() },
        { description: 'In or between the cycles of a Cycle: cycles started in the current period, the next start and the end of cycling (ms)' },
      ),
    ),
    prompt: Type.Optional(
      Type.Object({ question: Type.String(), since: Type.Optional(Type.Number()) }, { description: 'While prompting: the question, answered by POST /orders/{id}/confirm' }),
    ),
    outcome: Type.Optional(OutcomeSchema),
    pending: Type.Optional(
      Type.Object({
        suspend: Type.Optional(Type.Literal(true)),
        cancel: Type.Optional(Type.Object({ kill: Type.Boolean() })),
      }),
    ),
  },
  { additionalProperties: true },
);

export const LOCKS_PAGE_MAX = 1000;
export const WAITERS_SHOWN_MAX = 1000;
const WaitersParam = Type.Optional(
  Type.Integer({ minimum: 0, maximum: WAITERS_SHOWN_MAX, default: 100, description: `waiters shown per queue (default 100)`, errorMessage: `must be a whole number from 0 to ${WAITERS_SHOWN_MAX}` }),
);
export const LocksQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LOCKS_PAGE_MAX, default: 100, errorMessage: `must be a whole number from 1 to ${LOCKS_PAGE_MAX}` })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: 'the `next` of the previous page' })),
    waiters: WaitersParam,
  },
  { additionalProperties: false },
);
export const LockQuerySchema = Type.Object({ waiters: WaitersParam }, { additionalProperties: false });

export const LockViewSchema = Type.Object(
  {
    name: Type.String({ description: 'the lock, or family[key] for an instance of a keyed lock' }),
    family: Type.String(),
    key: Type.Optional(Type.String()),
    limit: Type.Integer(),
    title: Type.Optional(Type.String()),
    policy: Type.Union([Type.Literal('fifo'), Type.Literal('greedy')]),
    keyed: Type.Boolean(),
    fencingToken: Type.Integer(),
    state: Type.Union([Type.Literal('available'), Type.Literal('exclusive'), Type.Literal('shared'), Type.Literal('closed')]),
    heldWeight: Type.Integer(),
    holders: Type.Array(
      Type.Object({
        orderId: Type.String(),
        count: Type.Optional(Type.Integer()),
        exclusive: Type.Boolean(),
        since: Type.Number(),
        token: Type.Integer(),
      }),
    ),
    queue: Type.Array(
      Type.Object({
        orderId: Type.String(),
        place: Type.Integer({ description: '1 = next in line' }),
        demand: Type.Object({ count: Type.Optional(Type.Integer()), exclusive: Type.Boolean() }),
        priority: Type.Integer(),
        since: Type.Optional(Type.Number()),
        reason: Type.String({ description: 'why it waits' }),
      }),
    ),
    queueLength: Type.Integer({ description: 'how many wait in all (queue shows the first `waiters`)' }),
    instances: Type.Optional(Type.Array(Type.String(), { description: 'keyed family: its live instances' })),
  },
  { additionalProperties: true },
);

export const StampedSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'journal sequence number' }),
    event: Type.Object({ type: Type.String(), at: Type.Number() }, { additionalProperties: true }),
  },
);

export const StepLogSchema = Type.Object({
  orderId: Type.String(),
  executionId: Type.String(),
  job: Type.String(),
  stdout: Type.String(),
  stderr: Type.String(),
  stdoutDroppedBytes: Type.Integer(),
  stderrDroppedBytes: Type.Integer(),
  at: Type.Number(),
});

export const RunningLogSchema = Type.Object(
  {
    orderId: Type.String(),
    executionId: Type.String(),
    job: Type.String(),
    startedAt: Type.Number(),
    stdout: Type.String({ description: 'the output so far: its last 256 Ki characters' }),
    stderr: Type.String(),
    stdoutFromChars: Type.Integer({ description: 'where `stdout` starts in the stream: characters (UTF-16 code units) dropped from its front' }),
    stderrFromChars: Type.Integer(),
    stdoutChars: Type.Integer({ description: 'characters written to stdout in all (`stdoutFromChars` + length of `stdout`)' }),
    stderrChars: Type.Integer(),
  },
  { description: 'The output so far of the job the order runs now (on this node).' },
);

// ---------------------------------------------------------------- JS7 documents

const DOC_NOTE = 'Checked in depth by the Orderly validator; problems name their path below body.';

export const LockBodySchema = Type.Object(
  {
    TYPE: Type.Optional(Type.Literal('Lock')),
    name: Type.Optional(Type.String({ description: 'must equal the name in the URL when given' })),
    limit: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.lockLimitMax, description: 'default 1; 0 closes the lock' })),
    title: Type.Optional(Type.String({ maxLength: LIMITS.messageLengthMax })),
    keyed: Type.Optional(Type.Boolean()),
    policy: Type.Optional(Type.Union([Type.Literal('fifo'), Type.Literal('greedy')], { errorMessage: 'must be "fifo" or "greedy"' })),
    documentationName: Type.Optional(Type.String({ maxLength: LIMITS.messageLengthMax })),
    // JS7 inventory fields that locate the item in JOC Cockpit: accepted and dropped.
    version: Type.Optional(Type.Unknown()),
    versionId: Type.Optional(Type.Unknown()),
    path: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false, description: `A JS7 lock (inventory JSON) or {limit, title, keyed, policy}. ${DOC_NOTE}` },
);

const InstructionSchema = Type.Object(
  { TYPE: Type.String({ description: 'Execute.Named, Execute.Anonymous, Lock, Options, Try, Retry, Fail, Finish, If, Sleep, Prompt, StickySubagent' }), label: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

const JobSchema = Type.Object(
  {
    executable: Type.Object(
      { TYPE: Type.String({ description: 'ShellScriptExecutable, PathExecutable, CommandLineExecutable or FunctionExecutable (docs/js7.md)' }) },
      { additionalProperties: true },
    ),
    parallelism: Type.Optional(Type.Integer()),
    timeout: Type.Optional(Type.Number()),
    graceTimeout: Type.Optional(Type.Number()),
  },
  { additionalProperties: true },
);

export const WorkflowBodySchema = Type.Object(
  {
    TYPE: Type.Optional(Type.Literal('Workflow')),
    title: Type.Optional(Type.String()),
    timeZone: Type.Optional(Type.String()),
    instructions: Type.Array(InstructionSchema),
    jobs: Type.Record(Type.String(), JobSchema),
  },
  { additionalProperties: true, description: `A JS7 inventory workflow (the *.workflow.json document). ${DOC_NOTE}` },
);

// ---------------------------------------------------------------- orders

export const AddOrderSchema = Type.Object(
  {
    workflow: WorkflowNameSchema,
    id: Type.Optional(OrderIdSchema),
    arguments: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: LIMITS.argumentValueBytesMax }), {
        maxProperties: LIMITS.argumentsMax,
        errorMessage: 'must be an object of strings',
      }),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: -LIMITS.priorityAbsMax,
        maximum: LIMITS.priorityAbsMax,
        errorMessage: `must be a whole number from -${LIMITS.priorityAbsMax} to ${LIMITS.priorityAbsMax}`,
      }),
    ),
    scheduledFor: Type.Optional(
      Type.Union([Type.Integer({ minimum: TIME_MS_MIN, maximum: TIME_MS_MAX }), Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}', maxLength: 64 })], {
        description: 'ms since the epoch, or an ISO-8601 time; years 0000 to 9999 (UTC)',
        errorMessage: `must be ${TIME_RANGE_TEXT}, or an ISO-8601 time in that range`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type AddOrderBody = Static<typeof AddOrderSchema>;

export const ORDERS_PER_BATCH_MAX = 1000;

export const AddOrdersSchema = Type.Object(
  { orders: Type.Array(AddOrderSchema, { minItems: 1, maxItems: ORDERS_PER_BATCH_MAX }) },
  { additionalProperties: false },
);

export const AddOrderResultSchema = Type.Object({ id: Type.String() });
export const BatchResultSchema = Type.Object({
  results: Type.Array(
    Type.Union([Type.Object({ id: Type.String() }), Type.Object({ error: ErrorSchema.properties.error })]),
    { description: 'one per order, in the order given' },
  ),
});

export const ORDERS_PAGE_MAX = 1000;

/** Order ids one list request may name (`?ids=`). */
export const ORDER_IDS_QUERY_MAX = 1000;

export const OrdersQuerySchema = Type.Object(
  {
    state: Type.Optional(OrderStateSchema),
    workflow: Type.Optional(WorkflowNameSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ORDERS_PAGE_MAX, default: 100, errorMessage: `must be a whole number from 1 to ${ORDERS_PAGE_MAX}` })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'cursor: the id after which the page starts (the `next` of the previous page)' })),
    ids: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: ORDER_IDS_QUERY_MAX * 129,
        pattern: '^[A-Za-z0-9_.:@#-]+(,[A-Za-z0-9_.:@#-]+)*$',
        description: `only these orders: up to ${ORDER_IDS_QUERY_MAX} ids, comma-separated (unknown ones are left out)`,
        errorMessage: `must be up to ${ORDER_IDS_QUERY_MAX} order ids separated by commas`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const OrdersPageSchema = Type.Object({
  items: Type.Array(OrderViewSchema),
  next: Type.Optional(Type.String({ description: 'pass as `after` for the next page; absent on the last page' })),
});

export const OrderIdParams = Type.Object({ id: OrderIdSchema });
export const NameParams = Type.Object({ name: NameSchema });
export const LockNameParams = Type.Object({ name: LockInstanceNameSchema });
export const WorkflowParams = Type.Object({ name: WorkflowNameSchema });

export const CancelSchema = Type.Object({ kill: Type.Optional(Type.Boolean({ errorMessage: 'must be true or false' })) }, { additionalProperties: false });
export const SuspendSchema = Type.Object({ reset: Type.Optional(Type.Boolean({ errorMessage: 'must be true or false' })) }, { additionalProperties: false });
export const ConfirmSchema = Type.Object({}, { additionalProperties: false });
export const ResumeSchema = Type.Object(
  { position: Type.Optional(PositionSchema), asSucceeded: Type.Optional(Type.Boolean({ errorMessage: 'must be true or false' })) },
  { additionalProperties: false },
);
export const PrioritySchema = Type.Object(
  {
    priority: Type.Integer({
      minimum: -LIMITS.priorityAbsMax,
      maximum: LIMITS.priorityAbsMax,
      errorMessage: `must be a whole number from -${LIMITS.priorityAbsMax} to ${LIMITS.priorityAbsMax}`,
    }),
  },
  { additionalProperties: false },
);

export const OrderReplySchema = Type.Object({ order: Type.Optional(OrderViewSchema) }, { description: 'the order after the command (absent when retention dropped it)' });

// ---------------------------------------------------------------- auth

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')], {
  errorMessage: 'must be viewer, operator or admin',
});

export const TOKEN_NAME_MAX = 128;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

export const UserNameSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.@-]+$',
  errorMessage: 'must be 1 to 128 characters of A-Z a-z 0-9 _ . @ -',
});

export const PasswordSchema = Type.String({
  minLength: PASSWORD_MIN,
  maxLength: PASSWORD_MAX,
  errorMessage: `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`,
});

export const LoginSchema = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }) },
  { additionalProperties: false },
);

export const LoginReplySchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
});

export const TokenCreateSchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: TOKEN_NAME_MAX,
      // Printable, no spaces at either end: it shows in listings and logs.
      pattern: '^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029])?$',
      errorMessage: `must be 1 to ${TOKEN_NAME_MAX} printable characters, without spaces at either end`,
    }),
    role: RoleSchema,
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 10 * 365 * 24 * 3600, description: 'default: never expires' })),
  },
  { additionalProperties: false },
);

export const TokenInfoSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  kind: Type.Union([Type.Literal('api'), Type.Literal('session')]),
  created: Type.String({ description: 'ISO-8601' }),
  expires: Type.Optional(Type.String({ description: 'ISO-8601' })),
  user: Type.Optional(Type.String()),
});

export const TokenCreatedSchema = Type.Intersect([TokenInfoSchema, Type.Object({ token: Type.String({ description: 'shown once; only its hash is stored' }) })]);

export const TokenIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const UserCreateSchema = Type.Object(
  { name: UserNameSchema, password: PasswordSchema, role: RoleSchema },
  { additionalProperties: false },
);

export const UserInfoSchema = Type.Object({ name: Type.String(), role: RoleSchema, created: Type.String() });
export const UserParams = Type.Object({ name: UserNameSchema });

// ---------------------------------------------------------------- helpers

/**
 * Documented answers whose bodies are not type-checked against the schema at compile time
 * (views with optional fields do not meet TypeBox's types under exactOptionalPropertyTypes).
 */
export function documented(responses: Record<number, TSchema>): Record<number, TSchema> {
  return responses;
}

/** Error answers for a route's documentation. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = ErrorSchema;
  return out;
}
