import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatKey, generateKey } from '../../src/keys/key-format.js';
import { DEFAULT_LIMITS } from '../../src/limits/settings.js';
import { register, startAppWithUpstream } from '../support/app.js';
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
