import { escapeHtml } from './layout.js';

/**
 * Inline form errors: the message sits under its field, is announced when the page loads
 * (role=alert), is tied to the field (aria-describedby, aria-invalid), and the field takes the
 * focus, so a keyboard or screen-reader user lands where the problem is.
 */
export function fieldError(id: string, message: string | undefined): string {
  return message ? `<p class="error-text" id="${id}" role="alert">${escapeHtml(message)}</p>` : '';
}

/** Attributes of a field whose error `fieldError(id, …)` shows (nothing when there is none). */
export function invalidAttrs(errorId: string, message: string | undefined): string {
  return message ? ` aria-invalid="true" aria-describedby="${errorId}" autofocus` : '';
}
