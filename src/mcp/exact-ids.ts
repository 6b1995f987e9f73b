import { randomBytes } from 'node:crypto';

/**
 * JSON-RPC ids are echoed exactly as the client wrote them (JSON-RPC 2.0 §5: "the same value").
 * JSON.parse turns an integer id beyond 2^53 (`12345678901234567890`) into a double, and every
 * serialiser — ours and the SDK's — then echoes `12345678901234567000`: the client cannot match
 * its answer. Such ids are swapped for a unique string placeholder before the message is handled
 * and the client's own digits are put back into the response text. Ids that a double holds
 * exactly (every id a sane client uses) are left alone: this costs nothing on the hot path.
 */
export interface ExactIds {
  /** The message with each unsafe id replaced by its placeholder. */
  message: unknown;
  /** Puts the client's id text back where a placeholder was serialised. */
  restore(body: string): string;
}

/** Undefined when no id of the message (or of a batch's messages) needs this. */
export function preserveIds(text: string, message: unknown): ExactIds | undefined {
  const single = !Array.isArray(message);
  const messages: unknown[] = single ? [message] : message;
  if (!messages.some(hasUnsafeId)) return undefined;
  const raw = rawIdTexts(text);
  const nonce = randomBytes(9).toString('base64url');
  // The JSON text of a placeholder (`"…"`) → the client's number text.
  const replacements = new Map<string, string>();
  const swapped = messages.map((m, index) => {
    const source = raw.get(single ? -1 : index);
    if (!hasUnsafeId(m) || source === undefined) return m;
    const placeholder = `mcp-exact-id:${nonce}:${index}`;
    replacements.set(JSON.stringify(placeholder), source);
    return { ...m, id: placeholder };
  });
  return {
    message: single ? swapped[0] : swapped,
    restore(body) {
      let out = body;
      // A placeholder inside a JSON string would be `\"…\"`, so only a bare id value matches.
      for (const [placeholder, source] of replacements) out = out.split(placeholder).join(source);
      return out;
    },
  };
}

function hasUnsafeId(m: unknown): m is Record<string, unknown> & { id: number } {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const id = (m as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id);
}

interface Frame {
  kind: '{' | '[';
  expectKey: boolean;
  key: string | undefined;
  index: number;
}

/**
 * The source text of every numeric `"id"` of the top-level message (key -1) or of each element
 * of a top-level batch (key = its index). `text` is known to be valid JSON (it parsed), so this
 * lexer only tracks nesting, keys and number tokens. A repeated key keeps its last value, as
 * JSON.parse does.
 */
export function rawIdTexts(text: string): Map<number, string> {
  const found = new Map<number, string>();
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const top = stack[stack.length - 1];
    if (c === '{' || c === '[') {
      stack.push({ kind: c, expectKey: c === '{', key: undefined, index: 0 });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      if (top?.kind === '{') top.expectKey = true;
      else if (top) top.index++;
      i++;
    } else if (c === ':') {
      if (top) top.expectKey = false;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.kind === '{' && top.expectKey) top.key = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < text.length && /[0-9eE+\-.]/.test(text[j] as string)) j++;
      if (top?.kind === '{' && top.key === 'id') {
        if (stack.length === 1) found.set(-1, text.slice(i, j));
        else if (stack.length === 2 && stack[0]?.kind === '[') found.set(stack[0].index, text.slice(i, j));
      }
      i = j;
    } else {
      i++; // whitespace, or a letter of true/false/null
    }
  }
  return found;
}
