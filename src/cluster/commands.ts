// Commands from the other nodes of a cluster to the controller, through the `commands` table.
//
// A node that does not write the journal (a stand-by) sends each command its API takes: it
// inserts the command's row and notifies the controller (CommandForwarder.send). The
// controller (CommandServer) takes the open rows in id order, runs each through its engine as
// if a caller of its own had, and writes the answers into their rows (many in one statement),
// with a notification to each sender that carries the answer when it is short. The sender then waits until its own followed state holds the command's events, so
// what it answered is what it reads next (engine.ts, `following`).
//
// Nodes never talk to each other, only to PostgreSQL. The table keeps a command whose
// controller was lost: the next controller answers it, unless it has waited longer than
// COMMAND_AGE_MS_MAX (its sender gave up by then, so it is refused, not run). A command the
// lost controller had committed but not answered is run again by the next one; the core judges
// it again (an order id that exists is refused, and so on): see docs/cluster.md.

import type { Pool } from 'pg';
import type { Command } from '../core/commands.js';
import type { PgListener } from '../journal/postgres-listener.js';
import { CommandRefused, EngineUnavailable, type Engine, type ForwardAnswer } from '../runtime/engine.js';

/** A sender waits this long for the controller's answer, then reports the controller unavailable. */
export const COMMAND_WAIT_MS = 30_000;
/** The controller refuses (does not run) a command that waited longer than this for it. */
export const COMMAND_AGE_MS_MAX = 20_000;
/** Answered rows are deleted this long after their answer. */
const ANSWERED_KEPT_MS = 300_000;
/** Commands taken per read. */
const COMMANDS_PER_READ_MAX = 500;
/** An answer up to this many bytes travels in its notification (PostgreSQL's payload limit is 8,000 bytes). */
const ANSWER_IN_NOTIFICATION_BYTES_MAX = 7_900;
/** A command's JSON text, at most (a workflow deploy is the largest). */
export const COMMAND_BYTES_MAX = 16 * 1024 * 1024;

export function commandChannels(schema: string): { commands: string; answers: string } {
  return { commands: `${schema}.commands`, answers: `${schema}.answers` };
}

export interface CommandTableOptions {
  pool: Pool;
  /** The schema's name (for the notification channels) and quoted for SQL. */
  schema: string;
  schemaSql: string;
  listener: PgListener;
  /** This node's name (the rows say who sent them). */
  node: string;
}

/** A stand-by node's way to the controller: `send` is the engine's Forward. */
export class CommandForwarder {
  private readonly waiting = new Map<string, (answer: string | undefined) => void>();
  private listening: Promise<void> | undefined;
  private closed = false;
  private readonly channels: { commands: string; answers: string };

  constructor(
    private readonly o: CommandTableOptions,
    private readonly waitMs = COMMAND_WAIT_MS,
  ) {
    this.channels = commandChannels(o.schema);
    // Answers sent while the listener was away are read from the table.
    o.listener.onReconnect(() => {
      for (const id of this.waiting.keys()) void this.fetch(id);
    });
  }

  readonly send = async (cmd: Command): Promise<ForwardAnswer> => {
    if (this.closed) return { ok: false, unavailable: 'this node is closing' };
    const body = JSON.stringify(cmd);
    if (Buffer.byteLength(body) > COMMAND_BYTES_MAX) {
      return { ok: false, problem: { code: 'invalid', message: `command: its JSON is over ${COMMAND_BYTES_MAX} bytes` } };
    }
    try {
      this.listening ??= this.o.listener.listen(this.channels.answers, (payload) => this.answered(payload));
      await this.listening;
    } catch (err) {
      this.listening = undefined;
      return { ok: false, unavailable: `the database cannot be reached: ${message(err)}` };
    }
    let id: string;
    try {
      const { rows } = await this.o.pool.query<{ id: string }>(
        `WITH ins AS (INSERT INTO ${this.o.schemaSql}.commands (node, body) VALUES ($1, $2) RETURNING id)
         SELECT id, pg_notify($3, id::text) FROM ins`,
        [this.o.node, body, this.channels.commands],
      );
      id = String(rows[0]!.id);
    } catch (err) {
      return { ok: false, unavailable: `the command could not be sent to the controller: ${message(err)}` };
    }
    const text = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), this.waitMs);
      const done = (answer: string | undefined): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answer);
      };
      this.waiting.set(id, done);
      // Answered before we listened for it (a quick controller): read it now.
      void this.fetch(id);
    });
    if (text === undefined) {
      return { ok: false, unavailable: `no controller answered within ${this.waitMs} ms (is a node holding the controller lease?)` };
    }
    return JSON.parse(text) as ForwardAnswer;
  };

  close(): void {
    this.closed = true;
    for (const done of [...this.waiting.values()]) done(undefined);
  }

  /** A notification: `id` (read the answer from the row) or `id answer`. */
  private answered(payload: string): void {
    const space = payload.indexOf(' ');
    if (space < 0) {
      void this.fetch(payload);
      return;
    }
    this.waiting.get(payload.slice(0, space))?.(payload.slice(space + 1));
  }

  private async fetch(id: string): Promise<void> {
    const done = this.waiting.get(id);
    if (!done) return;
    try {
      const { rows } = await this.o.pool.query<{ answer: string | null }>(`SELECT answer FROM ${this.o.schemaSql}.commands WHERE id = $1`, [id]);
      const answer = rows[0]?.answer;
      if (answer !== null && answer !== undefined) done(answer);
    } catch {
      // Asked again on the next notification or reconnect; the wait ends at its time.
    }
  }
}

/** The controller's side: runs the commands other nodes sent, in order, and answers each. */
export class CommandServer {
  private readonly channels: { commands: string; answers: string };
  /**
   * Commands this controller took and has not answered yet, or whose answer could not be
   * written: never run twice. (Not "every id below the highest taken": ids are given at insert
   * and rows of several senders commit in any order, so a lower id can appear later.)
   */
  private readonly taken = new Set<string>();
  private reading = false;
  /** Answers waiting to be written, in one statement per round. */
  private answers: { id: string; text: string }[] = [];
  private writing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private lastCleanup = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly o: CommandTableOptions,
    private readonly engine: Pick<Engine, 'submit' | 'state'>,
  ) {
    this.channels = commandChannels(o.schema);
  }

  /** Starts taking commands: those waiting already, then each one notified. */
  async start(): Promise<void> {
    this.o.listener.onReconnect(() => this.wake());
    await this.o.listener.listen(this.channels.commands, () => this.wake());
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.inFlight]);
    await this.writing;
  }

  private wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.read().finally(() => {
      this.reading = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async read(): Promise<void> {
    for (;;) {
      let rows: { id: string; body: string; age_ms: number }[];
      try {
        ({ rows } = await this.o.pool.query<{ id: string; body: string; age_ms: number }>(
          `SELECT id, body, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms
           FROM ${this.o.schemaSql}.commands WHERE answer IS NULL AND id <> ALL($1::bigint[]) ORDER BY id LIMIT $2`,
          [[...this.taken], COMMANDS_PER_READ_MAX],
        ));
      } catch {
        // The database is away: the listener's reconnect wakes this again.
        return;
      }
      for (const r of rows) {
        const id = String(r.id);
        this.taken.add(id);
        const p = this.run(id, r.body, r.age_ms).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
      if (rows.length < COMMANDS_PER_READ_MAX || this.closed) break;
    }
    await this.cleanup();
  }

  private async run(id: string, body: string, ageMs: number): Promise<void> {
    let answer: ForwardAnswer;
    if (ageMs > COMMAND_AGE_MS_MAX) {
      answer = { ok: false, unavailable: `the command waited ${Math.round(ageMs)} ms for a controller (over ${COMMAND_AGE_MS_MAX} ms): not run` };
    } else {
      let cmd: Command;
      try {
        cmd = JSON.parse(body) as Command;
      } catch {
        cmd = undefined as unknown as Command;
      }
      if (typeof cmd !== 'object' || cmd === null || typeof (cmd as { type?: unknown }).type !== 'string') {
        answer = { ok: false, problem: { code: 'invalid', message: 'command: not a command object' } };
      } else {
        try {
          const events = await this.engine.submit(cmd);
          answer = { ok: true, events, seq: this.engine.state.seq };
        } catch (err) {
          if (err instanceof CommandRefused) answer = { ok: false, problem: err.problem };
          else if (err instanceof EngineUnavailable) answer = { ok: false, unavailable: err.message };
          else answer = { ok: false, unavailable: message(err) };
        }
      }
    }
    await this.answer(id, JSON.stringify(answer));
  }

  /** Queues the answer; the answers of a round are written by one statement. Resolves once written (or given up). */
  private answer(id: string, text: string): Promise<void> {
    this.answers.push({ id, text });
    this.writing ??= this.writeAnswers().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async writeAnswers(): Promise<void> {
    // Answers that come while a round is written go in the next one.
    await Promise.resolve();
    while (this.answers.length > 0) {
      const round = this.answers.splice(0, COMMANDS_PER_READ_MAX);
      try {
        // The notification carries the answer when it fits (no read by the sender), else the id.
        await this.o.pool.query(
          `WITH a AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS a(id, answer)),
           u AS (UPDATE ${this.o.schemaSql}.commands c SET answer = a.answer, answered_at = now() FROM a WHERE c.id = a.id RETURNING c.id, a.answer)
           SELECT pg_notify($3, CASE WHEN octet_length(u.answer) <= $4 THEN u.id::text || ' ' || u.answer ELSE u.id::text END) FROM u`,
          [round.map((a) => a.id), round.map((a) => a.text), this.channels.answers, ANSWER_IN_NOTIFICATION_BYTES_MAX],
        );
        for (const a of round) this.taken.delete(a.id);
      } catch {
        // The senders' waits end at their time and report the controller unavailable; these
        // commands stay taken (never run again by this controller).
      }
    }
  }

  private async cleanup(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanup < ANSWERED_KEPT_MS / 5) return;
    this.lastCleanup = now;
    await this.o.pool
      .query(`DELETE FROM ${this.o.schemaSql}.commands WHERE answered_at < now() - $1 * interval '1 millisecond'`, [ANSWERED_KEPT_MS])
      .catch(() => undefined);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
