import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBcryptGate, type BcryptGate } from '../../src/keys/bcrypt-gate.js';
import { formatKey, generateKey } from '../../src/keys/key-format.js';
import { DEFAULT_LIMITS } from '../../src/limits/settings.js';
import { call, waitUntil } from '../support/api-client.js';
import { register, startApp, startAppWithUpstream, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { authorizationUrl, consentForm, pkcePair, registerPublicClient, TestBrowser } from '../oauth/support.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/** A well-formed key (valid checksum) for the public id of `realKey` with a wrong secret: it reaches bcrypt. */
function guessFor(realKey: string): string {
  const publicId = realKey.split('_')[1] as string;
  const secret = generateKey().key.split('_')[2]?.slice(0, 32) as string;
  return formatKey(publicId, secret);
}

describe('the OAuth consent form counts refused keys like every other way in', () => {
  let f: Fixture;
  let clientId: string;
  before(async () => {
    f = await startAppWithUpstream();
    clientId = await registerPublicClient(f.app.url);
  });
  after(() => f.close());

  /** A browser on the consent page, posting the "use my API key" form from `ip` (loopback proxies are trusted). */
  async function consentFrom(ip: string): Promise<(apiKey: string) => Promise<Response>> {
    const browser = new TestBrowser(f.app.url, 'consent-user');
    const page = await browser.get(authorizationUrl(f.app.url, clientId, pkcePair().challenge));
    assert.equal(page.status, 200);
    const html = await page.text();
    const url = new URL('/oauth/authorize/decision', f.app.url);
    return (apiKey) =>
      fetch(url, {
        method: 'POST',
        redirect: 'manual',
        body: consentForm(html, { decision: 'allow_key', apiKey }),
        headers: { ...browser.jar.headersFor(url), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      });
  }

  it(`the ${DEFAULT_LIMITS.failedAuthPerIp + 1}st wrong key from one address gets 429 before any bcrypt`, async () => {
    const { apiKey } = await register(f.app, 'consent-victim');
    const submit = await consentFrom('203.0.113.50');
    const start = f.app.bcrypt.compares;
    for (let i = 0; i < DEFAULT_LIMITS.failedAuthPerIp; i += 1) {
      const res = await submit(guessFor(apiKey));
      assert.equal(res.status, 401, `guess ${i + 1}`);
      assert.match(await res.text(), /invalid, expired or revoked/);
    }
    assert.equal(f.app.bcrypt.compares - start, DEFAULT_LIMITS.failedAuthPerIp, 'each wrong secret for a real key id cost one bcrypt');

    const blocked = await submit(guessFor(apiKey));
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) > 0, 'Retry-After');
    assert.match(await blocked.text(), /Too many invalid API keys from your address/);
    assert.equal(f.app.bcrypt.compares - start, DEFAULT_LIMITS.failedAuthPerIp, 'the refused attempt reached no bcrypt');

    // Another address is not affected: the owner's key signs the client in there.
    const owner = await consentFrom('198.51.100.50');
    const allowed = await owner(apiKey);
    assert.equal(allowed.status, 303, await allowed.clone().text());
  });
});

/**
 * A real bcrypt gate whose compares can be held at the door: a burst's first checks wait there,
 * so what the rest of the burst gets does not depend on how fast bcrypt is on this machine.
 */
function holdableGate(): BcryptGate & { started: number; peak: number; hold(): void; release(): void } {
  const real = createBcryptGate();
  let door: Promise<void> = Promise.resolve();
  let open: () => void = () => {};
  let active = 0;
  const gate = {
    counts: real.counts,
    started: 0,
    peak: 0,
    hash: (secret: string) => real.hash(secret),
    async compare(secret: string, hash: string) {
      gate.started += 1;
      active += 1;
      gate.peak = Math.max(gate.peak, active);
      try {
        await door;
        return await real.compare(secret, hash);
      } finally {
        active -= 1;
      }
    },
    hold() {
      door = new Promise((resolve) => (open = resolve));
    },
    release() {
      open();
    },
  };
  return gate;
}

/** Waits when the current refused-key window is about to end, so its counter cannot reset mid-test. */
async function roomInWindow(seconds: number): Promise<void> {
  const size = DEFAULT_LIMITS.failedAuthWindowSeconds * 1000;
  const left = size - (Date.now() % size);
  if (left < seconds * 1000) await new Promise((r) => setTimeout(r, left + 50));
}

describe('refused keys are reserved before bcrypt, and a blocked address does not lock out its neighbours', () => {
  let db: TestDatabase;
  let app: TestApp;
  const gate = holdableGate();
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, bcrypt: gate });
  });
  after(async () => {
    gate.release();
    await app.close();
    await db.drop();
  });

  const keysFrom = (key: string, ip: string) => call(app.url, 'GET', '/api/keys', { key, headers: { 'x-forwarded-for': ip } });

  it(`150 concurrent wrong secrets for one key id: at most ${DEFAULT_LIMITS.keyChecksInFlightPerIp} reach bcrypt, the rest are 429 at once`, async () => {
    await roomInWindow(20);
    const { apiKey } = await register(app, 'burst-victim');
    const attacker = '203.0.113.80';
    const before = gate.started;
    gate.hold();
    const answers: Array<Awaited<ReturnType<typeof keysFrom>>> = [];
    const all = Promise.all(Array.from({ length: 150 }, () => keysFrom(guessFor(apiKey), attacker).then((res) => void answers.push(res))));
    try {
      // Everything but the checks held at bcrypt's door is answered without waiting for them.
      await waitUntil(async () => answers.length >= 150 - DEFAULT_LIMITS.keyChecksInFlightPerIp, 10_000);
    } finally {
      gate.release();
    }
    await all;
    const compares = gate.started - before;
    assert.equal(compares, DEFAULT_LIMITS.keyChecksInFlightPerIp, 'bcrypt compares for the whole burst');
    assert.ok(gate.peak <= DEFAULT_LIMITS.keyChecksInFlightPerIp, `peak concurrent compares ${gate.peak}`);
    const refused = answers.filter((a) => a.status === 401);
    const waiting = answers.filter((a) => a.status === 429);
    assert.equal(refused.length, compares, 'each check that ran was a refusal');
    assert.equal(waiting.length, 150 - compares);
    for (const a of waiting) {
      assert.equal(a.body.error, 'rate_limited');
      assert.equal(a.headers.get('retry-after'), '1');
      assert.match(String(a.body.error_description), /at once from your address/);
    }

    // Well inside the limit still: a new key used for the first time from the same address works.
    const newcomer = await register(app, 'burst-neighbour');
    assert.equal((await keysFrom(newcomer.apiKey, attacker)).status, 200);
  });

  it('once blocked: the guessed key id waits, a neighbour’s never-used key is still checked (one at a time) up to the limit again', async () => {
    await roomInWindow(20);
    const limit = DEFAULT_LIMITS.failedAuthPerIp;
    const attacker = '203.0.113.81';
    const victim = await register(app, 'blocked-victim');
    for (let i = 0; i < limit; i += 1) assert.equal((await keysFrom(guessFor(victim.apiKey), attacker)).status, 401, `guess ${i + 1}`);
    const before = gate.started;
    const blocked = await keysFrom(guessFor(victim.apiKey), attacker);
    assert.equal(blocked.status, 429);
    assert.match(String(blocked.body.error_description), /Too many invalid API keys from your address/);
    assert.ok(Number(blocked.headers.get('retry-after')) > 1);
    assert.equal((await keysFrom(victim.apiKey, attacker)).status, 429, 'the key id being guessed stays blocked from there, even with its secret');
    assert.equal(gate.started, before, 'neither reached bcrypt');

    // A neighbour behind the same address uses a new key for the first time: it is checked.
    const neighbour = await register(app, 'nat-neighbour');
    assert.equal((await keysFrom(neighbour.apiKey, attacker)).status, 200);
    assert.equal(gate.started, before + 1);

    // While blocked, only one such check runs at a time.
    const [first, second] = [await register(app, 'nat-2'), await register(app, 'nat-3')];
    gate.hold();
    const pending = keysFrom(first.apiKey, attacker);
    try {
      await waitUntil(async () => gate.started === before + 2, 5_000);
      const busy = await keysFrom(second.apiKey, attacker);
      assert.equal(busy.status, 429);
      assert.equal(busy.headers.get('retry-after'), '1');
    } finally {
      gate.release();
    }
    assert.equal((await pending).status, 200);
    assert.equal((await keysFrom(second.apiKey, attacker)).status, 200, 'and the next one after it');

    // Fresh key ids get at most `limit` more refusals (unknown ids: a lookup each, no bcrypt)…
    for (let i = 0; i < limit; i += 1) assert.equal((await keysFrom(generateKey().key, attacker)).status, 401, `fresh id ${i + 1}`);
    // …then every key not already in use from there waits for the window to end.
    const late = await register(app, 'nat-late');
    assert.equal((await keysFrom(late.apiKey, attacker)).status, 429);
    assert.equal((await keysFrom(neighbour.apiKey, attacker)).status, 200, 'keys already in use from there keep working');
    assert.equal((await keysFrom(late.apiKey, '198.51.100.81')).status, 200, 'other addresses are not affected');
  });
});
