import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Router } from 'express';

/**
 * The page's stylesheet, script and icon, served from this process under /static/. They live
 * in src/web/static/ and the build copies them to dist/web/static/, so this file finds them
 * beside itself either way (tsx in development, `npm start` and the Docker image).
 *
 * They are read once, when the module loads: a missing file stops the server at boot instead of
 * serving pages without styles. URLs carry a content hash (`?v=`), so browsers may cache them
 * for a year and still get a new version the moment it changes.
 */
const FILES = {
  'web.css': 'text/css; charset=utf-8',
  'web.js': 'text/javascript; charset=utf-8',
  'icon.svg': 'image/svg+xml',
} as const;
export type AssetName = keyof typeof FILES;

const STATIC_DIR = new URL('./static/', import.meta.url);

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  version: string;
}

const assets = new Map<string, Asset>(
  (Object.entries(FILES) as Array<[AssetName, string]>).map(([name, type]) => {
    const body = readFileSync(new URL(name, STATIC_DIR));
    const version = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    return [name, { body, type, etag: `"${version}"`, version }];
  }),
);

/** The URL of an asset, with its content hash for cache busting. */
export function assetUrl(name: AssetName): string {
  return `/static/${name}?v=${(assets.get(name) as Asset).version}`;
}

/** Size in bytes of an asset (for the measurements in docs/web.md and the page-size test). */
export function assetSize(name: AssetName): number {
  return (assets.get(name) as Asset).body.length;
}

export function staticRouter(): Router {
  const router = Router();
  router.get('/static/:name', (req, res, next) => {
    const asset = assets.get(req.params.name);
    if (!asset) return next();
    res.set({
      'Content-Type': asset.type,
      ETag: asset.etag,
      'Cache-Control': req.query.v === asset.version ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.headers['if-none-match'] === asset.etag) {
      res.status(304).end();
      return;
    }
    res.send(asset.body);
  });
  return router;
}
