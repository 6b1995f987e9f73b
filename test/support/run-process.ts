import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';

/** How a child process ended and everything it printed. */
export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Killed (with all its children) after this long. */
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command to completion without a shell. The child leads its own process group so that
 * a timeout, or a grandchild left behind (the inspector CLI spawns a second node), is ended
 * with the whole group rather than outliving the test.
 */
export function runProcess(command: string, args: string[], options: RunOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      killGroup();
      resolve({ exitCode, signal, timedOut, stdout, stderr });
    });
  });
}

/**
 * This process's environment for a child that runs a different program: without the test
 * runner's own variables (NODE_TEST_CONTEXT would make a child node report to our runner).
 */
export function childEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...overrides };
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** The whole of a process's story, for an assertion message. */
export function describeRun(result: ProcessResult): string {
  const how = result.timedOut ? 'timed out' : result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`;
  return stripVTControlCharacters(`process ${how}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
}
