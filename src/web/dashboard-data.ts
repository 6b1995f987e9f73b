import { listAuditEvents, type AuditEvent } from '../audit/audit-store.js';
import { connectionStatus, type ConnectionStatus } from '../connections/manage.js';
import type { Cipher } from '../crypto/cipher.js';
import type { Pool } from '../db/pool.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import { listKeysOf } from '../keys/manage-keys.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { resolveDayRange, utcDay, type DayRange } from '../usage/days.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import { usageOfUser } from '../usage/usage-store.js';

/** How many audit events the dashboard shows (the API pages through the rest). */
const RECENT_EVENTS = 10;

export interface ProviderCard {
  id: string;
  name: string;
  auth: 'oauth2' | 'api_key';
  status: ConnectionStatus;
  /** `api_key` providers: the operator's shared key serves users without their own. */
  hasFallback: boolean;
  /** `api_key` providers: a key is checked upstream before it is stored. */
  validates: boolean;
}

/** Tool calls per provider and tool over the range, summed over its days. */
export interface UsageTotal {
  provider: string;
  tool: string;
  ok: number;
  error: number;
}

export interface DashboardData {
  providers: ProviderCard[];
  keys: ApiKeyRecord[];
  events: AuditEvent[];
  usage: UsageTotal[];
  usageRange: DayRange;
}

export interface DashboardDataDeps {
  pool: Pool;
  cipher: Cipher;
  registry: ProviderRegistry;
  usage: UsageRecorder;
}

/** Everything the dashboard shows about one user, read with the same domain calls as the API. */
export async function loadDashboard(deps: DashboardDataDeps, userId: string): Promise<DashboardData> {
  const usageRange = resolveDayRange({}, utcDay(new Date()));
  // Calls this instance counted but has not written yet show up at once (as in GET /api/usage).
  await deps.usage.flush();
  const [providers, keys, events, lines] = await Promise.all([
    Promise.all(
      // A provider that needs no credentials has nothing to connect: it has no card.
      deps.registry.providers.flatMap((p) => (p.auth === 'none' ? [] : [p])).map(async (p): Promise<ProviderCard> => ({
        id: p.id,
        name: p.name,
        auth: p.auth,
        status: await connectionStatus(deps, userId, p.id),
        hasFallback: p.auth === 'api_key' && Boolean(p.fallback_key),
        validates: p.auth === 'api_key' && Boolean(p.validate),
      })),
    ),
    listKeysOf(deps.pool, userId),
    listAuditEvents(deps.pool, userId, { limit: RECENT_EVENTS }),
    usageOfUser(deps.pool, userId, usageRange),
  ]);
  const totals = new Map<string, UsageTotal>();
  for (const line of lines) {
    const key = `${line.provider}\0${line.tool}`;
    const total = totals.get(key) ?? { provider: line.provider, tool: line.tool, ok: 0, error: 0 };
    total.ok += line.ok;
    total.error += line.error;
    totals.set(key, total);
  }
  return { providers, keys, events, usage: [...totals.values()], usageRange };
}
