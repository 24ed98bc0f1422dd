// `orderly run` as a real process for the crash tests: started, ready once its socket is named.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/**
 * Starts `orderly run INVENTORY --data-dir DATA --slots 8`; resolves once it serves its socket.
 * The timeout is only a safety net that shows the output (a start on a busy machine can take
 * tens of seconds).
 */
export function startEngine(inventory: string, dataDir: string, children: ChildProcess[], timeoutMs = 90_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'run', inventory, '--data-dir', dataDir, '--slots', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`engine did not start: ${out}`)), timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('orderly.sock')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`engine exited ${code ?? signal}: ${out}`));
    });
  });
}

/** Whether a process lives (a zombie is dead). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
