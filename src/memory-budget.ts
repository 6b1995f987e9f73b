import v8 from 'node:v8';

/**
 * How many entries an in-memory cache may hold: a share of the V8 heap limit divided by what one
 * entry costs (measured with `--expose-gc`, heap used before and after 200,000 entries). A fixed
 * count (it was 10,000) is either a waste on a small machine or a cliff on a big one: past it,
 * round-robin traffic from more users evicts entries that are needed again a moment later, and for
 * key proofs each eviction costs a bcrypt compare (~50 ms of CPU).
 *
 * The heap limit follows the machine (Node sizes it from physical memory) and `--max-old-space-size`,
 * so the caches grow with what the operator gave the process.
 */
export function entriesWithin(share: number, bytesPerEntry: number, heapLimit = v8.getHeapStatistics().heap_size_limit): number {
  return Math.max(1_000, Math.floor((heapLimit * share) / bytesPerEntry));
}
