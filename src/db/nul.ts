/**
 * Whether a parsed body holds a NUL character in any string or key. PostgreSQL's text cannot
 * store U+0000 ("invalid byte sequence"), so such a value would reach the database and come back
 * as a 500. Walked with an explicit stack: a deeply nested body must not overflow the call stack.
 */
export function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return true;
    } else if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, element] of Object.entries(item)) {
        if (key.includes('\u0000')) return true;
        stack.push(element);
      }
    }
  }
  return false;
}
