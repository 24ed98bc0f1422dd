// A folder of JS7 inventory files: `*.lock.json`, `*.jobresource.json`, `*.workflow.json` and
// `*.noticeboard.json`, found recursively.
//
// - Files are read in sorted order of their relative paths (forward slashes), so results
//   and problems are deterministic. Folders whose names start with `.` (e.g. `.git`) are skipped.
// - Locks and job resources in the folder are visible to the workflows in it, together with
//   `ctx.locks` and `ctx.jobResources` (already deployed ones); one in the folder overrides a
//   deployed one of the same name.
// - The same name defined twice (in different subfolders) is fine when both definitions
//   are equal (the examples share lock files); otherwise it is a problem.
// - Problem paths are prefixed with the file's relative path:
//   `pdSerialSingle.workflow.json: instructions[0].demands[0].lockName`.
// - Valid files are returned even when others have problems; a caller that deploys must
//   refuse the whole folder when `problems` is not empty (semantics §10).

import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import type { ProblemItem } from '../core/commands.js';
import type { JobResourceDef, LockDef, NoticeBoardDef, Workflow } from '../core/model.js';
import { nameProblem } from '../core/validate.js';
import {
  BOARD_SUFFIX,
  exportJobResourceJson,
  exportLockJson,
  exportNoticeBoardJson,
  exportWorkflowJson,
  importJobResourceJson,
  importLockJson,
  importNoticeBoardJson,
  importWorkflowJson,
  JOB_RESOURCE_SUFFIX,
  LOCK_SUFFIX,
  WORKFLOW_SUFFIX,
} from './js7.js';

/** JS7 inventory files Orderly does not read, with the reason. */
const UNSUPPORTED_SUFFIXES: readonly (readonly [string, string])[] = [
  ['.schedule.json', 'JOC Cockpit schedules (the daily plan) are not implemented; use job config schedules'],
  ['.calendar.json', 'JOC Cockpit calendars are not implemented'],
  ['.fileordersource.json', 'file order sources are not implemented'],
  ['.jobtemplate.json', 'JOC Cockpit job templates are not implemented'],
  ['.includescript.json', 'JOC Cockpit include scripts are not implemented'],
  ['.jobclass.json', 'job classes are not implemented'],
];

export interface Inventory {
  locks: LockDef[];
  workflows: Workflow[];
  /** Absent: none. */
  jobResources?: JobResourceDef[];
  /** Notice boards (`*.noticeboard.json`); absent when the folder has none. */
  boards?: NoticeBoardDef[];
}

export interface InventoryRead extends Inventory {
  problems: ProblemItem[];
}

function listFiles(root: string, problems: ProblemItem[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      problems.push({ path: rel(root, dir) || '.', message: `cannot read folder: ${errorMessage(e)}` });
      return;
    }
    for (const ent of entries) {
      const full = join(dir, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        // Follow links to files; do not follow links to folders (no loops).
        try {
          const st = statSync(full);
          isFile = st.isFile();
          isDir = false;
        } catch {
          continue;
        }
      }
      if (isDir) {
        if (!ent.name.startsWith('.')) walk(full);
      }
      else if (isFile && (ent.name.endsWith(LOCK_SUFFIX) || ent.name.endsWith(WORKFLOW_SUFFIX) || ent.name.endsWith(JOB_RESOURCE_SUFFIX) || ent.name.endsWith(BOARD_SUFFIX))) out.push(full);
      else if (isFile) {
        // Other JS7 inventory items are refused, never passed over in silence.
        const kind = UNSUPPORTED_SUFFIXES.find(([suffix]) => ent.name.endsWith(suffix));
        if (kind) problems.push({ path: `${rel(root, full)}: $`, message: `not supported: ${kind[1]}` });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => {
    const x = rel(root, a);
    const y = rel(root, b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function rel(root: string, p: string): string {
  return relative(root, p).split(sep).join('/');
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function prefixed(file: string, problems: readonly ProblemItem[]): ProblemItem[] {
  return problems.map((p) => ({ path: `${file}: ${p.path}`, message: p.message }));
}

/** Reads every `*.lock.json`, `*.jobresource.json` and `*.workflow.json` below `dir`. */
export function readInventoryDir(
  dir: string,
  ctx: { locks?: ReadonlyMap<string, LockDef>; jobResources?: ReadonlyMap<string, JobResourceDef> } = {},
): InventoryRead {
  const problems: ProblemItem[] = [];
  const files = listFiles(dir, problems);
  const texts = new Map<string, string>();
  for (const f of files) {
    try {
      texts.set(f, readFileSync(f, 'utf8'));
    } catch (e) {
      problems.push({ path: `${rel(dir, f)}: $`, message: `cannot read file: ${errorMessage(e)}` });
    }
  }

  const locks = new Map<string, { lock: LockDef; file: string }>();
  for (const [f, text] of texts) {
    if (!f.endsWith(LOCK_SUFFIX)) continue;
    const file = rel(dir, f);
    const r = importLockJson(text, f);
    if (!r.ok) {
      problems.push(...prefixed(file, r.problems));
      continue;
    }
    const prev = locks.get(r.value.name);
    if (prev && !isDeepStrictEqual(prev.lock, r.value)) {
      problems.push({ path: `${file}: $`, message: `lock ${r.value.name} is also defined, differently, in ${prev.file}` });
    } else if (!prev) {
      locks.set(r.value.name, { lock: r.value, file });
    }
  }

  const boards = new Map<string, { board: NoticeBoardDef; file: string }>();
  for (const [f, text] of texts) {
    if (!f.endsWith(BOARD_SUFFIX)) continue;
    const file = rel(dir, f);
    const r = importNoticeBoardJson(text, f);
    if (!r.ok) {
      problems.push(...prefixed(file, r.problems));
      continue;
    }
    const prev = boards.get(r.value.name);
    if (prev && !isDeepStrictEqual(prev.board, r.value)) problems.push({ path: `${file}: $`, message: `notice board ${r.value.name} is also defined, differently, in ${prev.file}` });
    else if (!prev) boards.set(r.value.name, { board: r.value, file });
  }

  const visible = new Map<string, LockDef>(ctx.locks ?? []);
  for (const [name, { lock }] of locks) visible.set(name, lock);

  const jobResources = new Map<string, { jobResource: JobResourceDef; file: string }>();
  for (const [f, text] of texts) {
    if (!f.endsWith(JOB_RESOURCE_SUFFIX)) continue;
    const file = rel(dir, f);
    const r = importJobResourceJson(text, f);
    if (!r.ok) {
      problems.push(...prefixed(file, r.problems));
      continue;
    }
    const prev = jobResources.get(r.value.name);
    if (prev && !isDeepStrictEqual(prev.jobResource, r.value)) {
      problems.push({ path: `${file}: $`, message: `job resource ${r.value.name} is also defined, differently, in ${prev.file}` });
    } else if (!prev) {
      jobResources.set(r.value.name, { jobResource: r.value, file });
    }
  }
  const visibleResources = new Map<string, JobResourceDef>(ctx.jobResources ?? []);
  for (const [name, { jobResource }] of jobResources) visibleResources.set(name, jobResource);

  const workflows = new Map<string, { workflow: Workflow; file: string }>();
  for (const [f, text] of texts) {
    if (!f.endsWith(WORKFLOW_SUFFIX)) continue;
    const file = rel(dir, f);
    const r = importWorkflowJson(text, f, { locks: visible, jobResources: visibleResources });
    if (!r.ok) {
      problems.push(...prefixed(file, r.problems));
      continue;
    }
    const prev = workflows.get(r.value.name);
    if (prev && !isDeepStrictEqual(prev.workflow, r.value)) {
      problems.push({
        path: `${file}: $`,
        message: `workflow ${r.value.name} is also defined, differently, in ${prev.file}`,
      });
    } else if (!prev) {
      workflows.set(r.value.name, { workflow: r.value, file });
    }
  }

  const read: InventoryRead = {
    locks: [...locks.values()].map((l) => l.lock),
    workflows: [...workflows.values()].map((w) => w.workflow),
    problems,
  };
  if (jobResources.size > 0) read.jobResources = [...jobResources.values()].map((r) => r.jobResource);
  if (boards.size > 0) read.boards = [...boards.values()].map((b) => b.board);
  return read;
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, 'utf8');
  renameSync(tmp, file);
}

/** Writes `<name>.lock.json`, `<name>.jobresource.json` and `<name>.workflow.json` files into `dir` (created if missing). */
export function writeInventoryDir(dir: string, inv: Inventory): void {
  for (const l of inv.locks) {
    const msg = nameProblem(l.name, 'lock name');
    if (msg) throw new Error(`cannot write lock ${JSON.stringify(l.name)}: ${msg}`);
  }
  for (const w of inv.workflows) {
    const msg = nameProblem(w.name, 'workflow name');
    if (msg) throw new Error(`cannot write workflow ${JSON.stringify(w.name)}: ${msg}`);
  }
  for (const r of inv.jobResources ?? []) {
    const msg = nameProblem(r.name, 'job resource name');
    if (msg) throw new Error(`cannot write job resource ${JSON.stringify(r.name)}: ${msg}`);
  }
  mkdirSync(dir, { recursive: true });
  for (const l of inv.locks) writeAtomically(join(dir, l.name + LOCK_SUFFIX), exportLockJson(l));
  for (const r of inv.jobResources ?? []) writeAtomically(join(dir, r.name + JOB_RESOURCE_SUFFIX), exportJobResourceJson(r));
  for (const w of inv.workflows) writeAtomically(join(dir, w.name + WORKFLOW_SUFFIX), exportWorkflowJson(w));
  for (const b of inv.boards ?? []) writeAtomically(join(dir, b.name + BOARD_SUFFIX), exportNoticeBoardJson(b));
}
