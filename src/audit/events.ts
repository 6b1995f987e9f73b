import type { Actor } from '../auth/actor.js';

/** Every kind of audit event (the `type` a user reads back from GET /api/audit). */
export const AUDIT_EVENT_TYPES = [
  'key.created',
  'key.rotated',
  'key.revoked',
  'user.disabled',
  'user.enabled',
  'connection.created',
  'connection.revoked',
  'connection.reauth_required',
  'session.created',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What an event says about itself; never a secret (keys appear only by prefix). */
export type AuditDetail = Record<string, string | number | boolean | null | string[]>;

export interface NewAuditEvent {
  userId: string;
  type: AuditEventType;
  detail?: AuditDetail;
  /** Who acted (NO_ACTOR for the operator CLI and background work). */
  actor: Actor;
}
