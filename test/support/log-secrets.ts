/**
 * Every app the tests start logs at `trace` (issue 15: the whole suite's flows at the most verbose
 * level) into memory, and this scan runs when the app closes: a test whose flow logged a secret
 * fails, whatever the test itself was about. The patterns are the shapes a secret takes in a
 * log line, so they need no list of the test's own secrets: a whole `sk_` key (its prefix alone is
 * public and may be logged), a bearer credential, or a secret-named field with a value that is not
 * the redaction marker. The encryption key is checked by value.
 */
const FULL_API_KEY = /sk_[0-9A-Za-z]{8,}_[0-9A-Za-z]{20,}/;
const BEARER = /\bBearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/i;
const SECRET_FIELD = /"(access_token|refresh_token|id_token|client_secret|api_key|code_verifier|password|authorization)"\s*:\s*"(?!\[redacted\])[^"]{4,}"/i;

/** The first log line that holds a secret, described without the secret; undefined when none. */
export function secretInLogs(lines: readonly string[], knownSecrets: readonly string[] = []): string | undefined {
  for (const [i, line] of lines.entries()) {
    const why = FULL_API_KEY.test(line)
      ? 'a whole sk_ key'
      : BEARER.test(line)
        ? 'a bearer credential'
        : SECRET_FIELD.test(line)
          ? `a ${SECRET_FIELD.exec(line)?.[1]} value`
          : knownSecrets.some((s) => s.length >= 8 && line.includes(s))
            ? 'the encryption key'
            : undefined;
    if (why) return `log line ${i + 1} holds ${why}: ${line.replace(/[A-Za-z0-9_\-+/=.~]{16,}/g, '…').slice(0, 300)}`;
  }
  return undefined;
}
