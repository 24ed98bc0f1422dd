// After a crash, job processes of the previous engine run may still be alive. They carry
// `ORDERLY_ENGINE_ID=<id>` in their environment (see shell-executor.ts): find them through
// /proc/*/environ (Linux only) and SIGKILL their process groups. Also: which processes of a
// job's process group still run after its main process ended (liveGroupMembers).

import { readdir, readFile } from 'node:fs/promises';

const BATCH = 64;

/** State and process group id from /proc/<pid>/stat (fields 3 and 5; the comm field may contain spaces and parentheses). */
async function statOf(pid: number | 'self'): Promise<{ state: string; pgid: number | undefined } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields: state ppid pgrp ...
    const pgid = Number(fields[2]);
    return { state: fields[0] ?? '', pgid: Number.isInteger(pgid) && pgid > 0 ? pgid : undefined };
  } catch {
    return undefined;
  }
}

async function pgidOf(pid: number | 'self'): Promise<number | undefined> {
  return (await statOf(pid))?.pgid;
}

/**
 * The processes of process group `pgid` that still run: [] once the group is gone. Zombies
 * (ended, not reaped yet) do not count. On Linux the members are found through /proc; elsewhere
 * a live group is reported as `[pgid]`.
 */
export async function liveGroupMembers(pgid: number): Promise<number[]> {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    // EPERM: a member exists that we may not signal; it still runs.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return [];
  }
  if (process.platform !== 'linux') return [pgid];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [pgid];
  }
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const live: number[] = [];
  for (let i = 0; i < pids.length; i += BATCH) {
    const batch = pids.slice(i, i + BATCH);
    const stats = await Promise.all(batch.map((p) => statOf(p)));
    stats.forEach((st, j) => {
      if (st && st.pgid === pgid && st.state !== 'Z' && st.state !== 'X') live.push(batch[j]!);
    });
  }
  return live;
}

async function hasMarker(pid: number, marker: Buffer): Promise<boolean> {
  try {
    const env = await readFile(`/proc/${pid}/environ`);
    // Entries are NUL-terminated; match a whole entry.
    let from = 0;
    for (;;) {
      const i = env.indexOf(marker, from);
      if (i < 0) return false;
      const startsEntry = i === 0 || env[i - 1] === 0;
      const end = i + marker.length;
      const endsEntry = end === env.length || env[end] === 0;
      if (startsEntry && endsEntry) return true;
      from = i + 1;
    }
  } catch {
    return false; // vanished, or not ours to read
  }
}

/**
 * SIGKILLs the process groups of processes whose environment holds
 * `ORDERLY_ENGINE_ID=<engineId>` (not the current process, never our own group).
 * Returns how many groups (or single processes, as a fallback) were killed. 0 off Linux.
 */
export async function killOrphans(engineId: string): Promise<number> {
  if (engineId === '') return 0;
  return killMarked(`ORDERLY_ENGINE_ID=${engineId}`);
}

/**
 * SIGKILLs the process groups of processes whose environment holds the entry `marker`
 * (`NAME=value`; not the current process, never our own group). 0 off Linux.
 */
export async function killMarked(markerEntry: string): Promise<number> {
  if (process.platform !== 'linux' || markerEntry === '') return 0;
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0;
  }
  const marker = Buffer.from(markerEntry, 'utf8');
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => p !== process.pid && p > 1);
  const found: number[] = [];
  for (let i = 0; i < pids.length; i += BATCH) {
    const batch = pids.slice(i, i + BATCH);
    const hits = await Promise.all(batch.map((p) => hasMarker(p, marker)));
    hits.forEach((hit, j) => {
      if (hit) found.push(batch[j]!);
    });
  }
  if (found.length === 0) return 0;

  const ownGroup = await pgidOf('self');
  const groups = new Map<number, number[]>();
  const singles = new Set<number>();
  for (const pid of found) {
    const pgid = await pgidOf(pid);
    if (pgid === undefined || pgid === ownGroup || pgid <= 1) singles.add(pid);
    else groups.set(pgid, [...(groups.get(pgid) ?? []), pid]);
  }
  let killed = 0;
  for (const [pgid, members] of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed++;
    } catch {
      // the group is gone or not ours to signal: fall back to the processes themselves
      for (const pid of members) singles.add(pid);
    }
  }
  for (const pid of singles) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone already, or not ours
    }
  }
  return killed;
}
