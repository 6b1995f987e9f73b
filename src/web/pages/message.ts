import { escapeHtml, layout } from './layout.js';

export interface MessageView {
  title: string;
  message: string;
  /** Where to go from here (always somewhere: no dead ends). */
  link: { href: string; text: string };
  account?: { name: string | null; csrf: string } | undefined;
}

/** A page that only says what happened: refused forms, failed upstream logins, server errors. */
export function messagePage(view: MessageView): string {
  const body = `<div class="card"><h1 class="fail">${escapeHtml(view.title)}</h1>
<p>${escapeHtml(view.message)}</p>
<p><a class="button secondary" href="${escapeHtml(view.link.href)}">${escapeHtml(view.link.text)}</a></p></div>`;
  return layout({ title: view.title, body, narrow: true, account: view.account });
}
