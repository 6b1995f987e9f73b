import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Every relative link and image in README.md, CHANGELOG.md and docs/*.md must point at a file that
// exists and, with a #fragment, at a heading in it: the docs were split into several files and
// several people edit them at once, so a moved section must not leave a dead link behind.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name));
  return [join(root, 'README.md'), join(root, 'CHANGELOG.md'), ...docs];
}

/** The text outside fenced code blocks and inline code spans, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (match[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The relative targets of `[text](target)` links and `<img src="target">` in a markdown text. */
export function relativeTargets(markdown: string): string[] {
  const text = prose(markdown);
  const targets = [
    ...[...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? ''),
    ...[...text.matchAll(/<img\s[^>]*src="([^"]+)"/g)].map((m) => m[1] ?? ''),
  ];
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** Broken targets of one markdown file, as "file: target (why)". */
export function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const target of relativeTargets(markdown)) {
    const [path = '', fragment] = target.split('#');
    const destination = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    const where = `${relative(root, file)}: ${target}`;
    if (!existsSync(destination)) {
      broken.push(`${where} (no such file)`);
      continue;
    }
    if (fragment !== undefined && destination.endsWith('.md')) {
      const anchors = anchorsOf(path === '' ? markdown : readFileSync(destination, 'utf8'));
      if (!anchors.has(fragment)) broken.push(`${where} (no heading with anchor #${fragment})`);
    }
  }
  return broken;
}

test('every relative link and image in README.md, CHANGELOG.md and docs/*.md resolves', () => {
  const files = markdownFiles();
  let checked = 0;
  const broken: string[] = [];
  for (const file of files) {
    const markdown = readFileSync(file, 'utf8');
    checked += relativeTargets(markdown).length;
    broken.push(...brokenLinks(file, markdown));
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 20, `expected the docs to link to each other, found ${checked} links`);
});

test('the checker reports a missing file, a missing anchor and a missing image', () => {
  const readme = join(root, 'README.md');
  const markdown = [
    '# Title',
    '## Sign in from ChatGPT and Claude.ai',
    'Fine: [a](docs/web.md), [b](#sign-in-from-chatgpt-and-claudeai), [c](https://example.com/x.md).',
    'Not: [d](docs/nowhere.md), [e](docs/web.md#no-such-heading), [f](#nope).',
    '<img src="docs/screenshots/missing.png" alt="">',
    '`[code](not-a-link.md)`',
  ].join('\n');
  assert.deepEqual(brokenLinks(readme, markdown), [
    'README.md: docs/nowhere.md (no such file)',
    'README.md: docs/web.md#no-such-heading (no heading with anchor #no-such-heading)',
    'README.md: #nope (no heading with anchor #nope)',
    'README.md: docs/screenshots/missing.png (no such file)',
  ]);
});

test('anchors follow GitHub: punctuation dropped, code and underscores kept, repeats numbered', () => {
  const anchors = anchorsOf('## API keys for upstreams (`api_key` providers)\n## Usage\n## Usage\n');
  assert.deepEqual([...anchors], ['api-keys-for-upstreams-api_key-providers', 'usage', 'usage-1']);
});
