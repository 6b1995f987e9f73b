import type { ProviderRegistry } from '../providers/registry.js';

/**
 * One-line confirmations after a redirect ("Acme is connected."). The URL carries only a code
 * and a provider id, never text: the text comes from this table and the provider's name from the
 * registry, so a crafted link cannot put words on the page.
 */
const NOTICES = {
  signed_in: (p: string) => (p ? `Signed in with ${p}. Your ${p} account is connected.` : 'Signed in.'),
  signed_out: () => 'You are signed out.',
  session_over: () => 'Your session has ended. Sign in again to continue.',
  sign_in_key_revoked: () => 'The key you signed in with was revoked, so you are signed out.',
  connected: (p: string) => `${p} is connected.`,
  key_saved: (p: string) => `Your ${p} API key was checked and saved.`,
  disconnected: (p: string) => `${p} is disconnected. Your tokens were deleted here (and revoked at ${p} where it supports that).`,
  disconnected_unconfirmed: (p: string) =>
    `${p} is disconnected. Your tokens were deleted here, but ${p} did not confirm the revocation; you may also remove access in your ${p} account settings.`,
  key_removed: (p: string) => `Your ${p} API key was deleted here.`,
  key_revoked: () => 'The API key is revoked and stops working now.',
} as const;

export type NoticeCode = keyof typeof NOTICES;

/** `path?notice=code&provider=id` */
export function withNotice(path: string, code: NoticeCode, providerId?: string): string {
  const query = new URLSearchParams({ notice: code });
  if (providerId) query.set('provider', providerId);
  return `${path}?${query}`;
}

/** The notice a request's query names, or undefined for none (or an unknown one). */
export function noticeFrom(query: Record<string, unknown>, registry: ProviderRegistry): string | undefined {
  const code = query.notice;
  if (typeof code !== 'string' || !Object.hasOwn(NOTICES, code)) return undefined;
  const providerId = typeof query.provider === 'string' ? query.provider : '';
  const provider = providerId ? registry.provider(providerId) : undefined;
  const render = NOTICES[code as NoticeCode];
  // A notice about a provider needs a real one; without it the notice is dropped.
  if (render.length > 0 && code !== 'signed_in' && !provider) return undefined;
  return render(provider?.name ?? '');
}
