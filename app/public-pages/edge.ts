import type { Deps } from '../deps';

const PURGE_TIMEOUT_MS = 500;

// The URLs nginx caches for a slug that change when its owner writes: the
// page and the JSON, first page (deeper pages expire by themselves).
export const publicPaths = (slug: string) => [`/u/${slug}`, `/api/public/${slug}/todos`];

/**
 * Drops a slug's first pages from nginx's cache before the owner's write is
 * answered, so the next anonymous reader sees the change. A failed purge is
 * logged and costs at most the pages' one-to-two-second lifetime.
 */
export async function purgePublic(deps: Deps, ...slugs: Array<string | null | undefined>): Promise<void> {
  const base = deps.config.edgePurgeUrl;
  if (!base) return;
  const paths = slugs.filter((s): s is string => typeof s === 'string').flatMap(publicPaths);
  await Promise.all(paths.map(async (path) => {
    try {
      const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(PURGE_TIMEOUT_MS) });
      // 404: nothing cached under that key, which is fine.
      if (res.status !== 200 && res.status !== 404) deps.log.warn({ path, status: res.status }, 'edge purge refused');
      await res.arrayBuffer();
    } catch (err) {
      deps.log.warn({ path, err: (err as Error).message }, 'edge purge failed');
    }
  }));
}
