import { EventEmitter } from 'node:events';

/**
 * A deadline for one upstream call, usable as undici's `signal` (undici accepts an EventEmitter
 * with `aborted`/`reason` as well as an AbortSignal).
 *
 * Why not an AbortController: on Node 20 every AbortSignal survives the young-generation GC, even
 * one that never gets a listener (measured: ~430 bytes promoted per signal), and
 * `AbortSignal.timeout()` keeps its signal, and undici's request through its listener, alive for
 * the whole timeout. At thousands of tool calls a second that promotes ~10 MB/s of garbage into
 * the old generation and was most of the server's peak RSS under load. An EventEmitter with a
 * timer cleared when the call ends dies young.
 */
export class Deadline extends EventEmitter {
  aborted = false;
  reason: Error | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.#timer = setTimeout(() => {
      // Same name as AbortSignal.timeout()'s reason, so callers classify it as a timeout.
      this.reason = new DOMException(`no answer within ${ms} ms`, 'TimeoutError');
      this.aborted = true;
      this.emit('abort');
    }, ms);
  }

  /** Call when the guarded work has ended, however it ended. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}
