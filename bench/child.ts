/** Starting the bench's child processes (the harness; Mastra under Node 22) and reading their JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line that parses as JSON. */
  firstJson<T>(): Promise<T>;
  stop(): Promise<void>;
}

/** Runs a TypeScript file under `node` (any Node ≥ 20.6: tsx as an `--import` loader). */
export function spawnTs(node: string, file: string, args: string[], onStderrLine?: (line: string) => void): Child {
  const child = spawn(node, ['--import', 'tsx', file, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
    onStderrLine?.(line);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    firstJson<T>() {
      return new Promise<T>((resolve, reject) => {
        lines.on('line', (line) => {
          if (!line.startsWith('{')) return;
          try {
            resolve(JSON.parse(line) as T);
          } catch {
            // not ours
          }
        });
        void exited.then((code) => reject(new Error(`${file} exited (${code}) before answering:\n${stderr.slice(-15).join('\n')}`)));
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
