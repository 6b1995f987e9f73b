// The parts of autocannon's programmatic API the scale benchmark uses (it ships no types).
declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    /** Seconds before a request counts as a timeout (autocannon's default: 10). */
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    requests?: Array<{ setupRequest?: (req: { headers?: Record<string, string> }) => unknown; onResponse?: (status: number, body: string) => void }>;
  }
  interface Result {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
  }
  interface Instance {
    stop(): void;
  }
  export default function autocannon(options: Options, done: (err: Error | null, result: Result) => void): Instance;
}
