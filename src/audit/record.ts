import type { Queryable } from '../db/pool.js';
import type { Logger } from '../log.js';
import { insertAuditEvent } from './audit-store.js';
import type { NewAuditEvent } from './events.js';

/**
 * Records an event about something that has already happened (a connection made, revoked or
 * needing re-authorization). It never throws: failing the user's request — or skipping an
 * upstream revocation — because the audit line could not be written would be worse than the
 * missing line, which is reported to the log instead. Key changes, whose audit line must not
 * go missing, use insertAuditEvent inside their own transaction.
 */
export async function recordAudit(db: Queryable, event: NewAuditEvent, log: Logger): Promise<void> {
  try {
    await insertAuditEvent(db, event);
  } catch (err) {
    log.error({ err: (err as Error).message, type: event.type, user: event.userId }, 'could not record an audit event');
  }
}
