/**
 * In-process notice that a connection row changed, so every cached copy of it is dropped.
 * Writes call it when their statement returns, and the flows that write inside a transaction
 * call it again once the transaction has committed: a read that slipped in between would
 * otherwise cache the row as it was before the commit.
 */
type Listener = (userId: string, providerId: string) => void;

const listeners = new Set<Listener>();

/** Subscribes; the returned function unsubscribes (an app that stops must not stay reachable from here). */
export function onConnectionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function connectionChanged(userId: string, providerId: string): void {
  for (const listener of listeners) listener(userId, providerId);
}
