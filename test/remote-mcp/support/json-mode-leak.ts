import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

interface StreamEntry {
  resolveJson?: (response: Response) => void;
}

/**
 * Works around a leak in the SDK's streamable-HTTP server (seen in 1.32.2, the latest release):
 * in JSON-response mode every POST registers `{ resolveJson, cleanup }` in the session's private
 * `_streamMapping` and nothing ever deletes it — `cleanup()` is only called for SSE streams. Each
 * request thus keeps ~5.6 KB (its Request, Response, URL, streams) for as long as the session
 * lives: 170 MB over one 8 s benchmark run, 1.5 GB in a longer one. The growing heap made the
 * upstream's CPU per call climb during `npm run bench`, so whichever target ran later (the
 * proxied one) was measured against a slower server.
 *
 * The entry is dropped as soon as its answer is handed over, which is what the SDK does for SSE.
 * Private fields are reached only when they exist: with a fixed or reshaped SDK this does nothing.
 */
export function releaseAnsweredJsonStreams(transport: StreamableHTTPServerTransport): void {
  const inner = (transport as unknown as { _webStandardTransport?: { _streamMapping?: unknown } })._webStandardTransport;
  const mapping = inner?._streamMapping;
  if (!(mapping instanceof Map)) return;
  const set = mapping.set.bind(mapping);
  mapping.set = (streamId: unknown, entry: StreamEntry) => {
    const resolve = entry?.resolveJson;
    if (typeof resolve === 'function') {
      entry.resolveJson = (response) => {
        if (mapping.get(streamId) === entry) mapping.delete(streamId);
        resolve(response);
      };
    }
    return set(streamId, entry);
  };
}
