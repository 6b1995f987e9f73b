import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Issue 18, item 5: key creation hashed with bcrypt inside a transaction holding a pool
 * connection and the user's row lock; a burst of POST /api/keys gave 500s and stalled others.
 */
describe('a burst of key creations', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, limits: { keyPerMinute: 1000, keyPerHour: 20_000 } });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const create = (apiKey: string) =>
    fetch(`${app.url}/api/keys`, { method: 'POST', headers: { ...bearer(apiKey), 'content-type': 'application/json' }, body: '{}' });

  it('answers only 201 or 429 (with Retry-After), never 500, and another user is served meanwhile', async () => {
    const burst = await register(app, 'burst');
    const other = await register(app, 'other');
    const pending = Array.from({ length: 45 }, () => create(burst.apiKey));
    const meanwhile = await fetch(`${app.url}/api/keys`, { headers: bearer(other.apiKey) });
    assert.equal(meanwhile.status, 200);
    const answers = await Promise.all(pending);
    const statuses = answers.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 201 || s === 429), statuses.join(','));
    assert.ok(statuses.includes(201) && statuses.includes(429), statuses.join(','));
    for (const r of answers) if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
    await Promise.all(answers.map((r) => r.body?.cancel()));
  });

  it('holds the 50-key cap exactly, also for rotations with a grace period', async () => {
    const user = await register(app, 'capped');
    let made = 1;
    while (made < 50) {
      const batch = await Promise.all([create(user.apiKey), create(user.apiKey)]);
      made += batch.filter((r) => r.status === 201).length;
      await Promise.all(batch.map((r) => r.body?.cancel()));
    }
    const over = await create(user.apiKey);
    assert.equal(over.status, 400);
    assert.equal(((await over.json()) as { error: string }).error, 'too_many_keys');
    const list = (await (await fetch(`${app.url}/api/keys`, { headers: bearer(user.apiKey) })).json()) as { keys: Array<{ id: string }> };
    assert.equal(list.keys.length, 50);
    const victim = list.keys.find((k) => k.id)?.id as string;
    const rotate = await fetch(`${app.url}/api/keys/${victim}/rotate`, {
      method: 'POST',
      headers: { ...bearer(user.apiKey), 'content-type': 'application/json' },
      body: JSON.stringify({ grace_seconds: 60 }),
    });
    assert.equal(rotate.status, 400, 'a rotation whose old secret keeps working would be the 51st key');
    const after = (await (await fetch(`${app.url}/api/keys`, { headers: bearer(user.apiKey) })).json()) as { keys: unknown[] };
    assert.equal(after.keys.length, 50);
  });
});
