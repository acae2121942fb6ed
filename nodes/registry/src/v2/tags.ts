import type { Deps } from '../deps.js';
import type { MethodMap } from './routes.js';
import { listTags } from '../services/manifests.js';
import { MAX_PAGE, nextLink, pageParams } from './pagination.js';

export function tagHandlers(deps: Deps): MethodMap {
  return {
    GET: async (c, { name }) => {
      const { n, last } = pageParams(c.req.query('n'), c.req.query('last'));
      if (n === 0) return c.json({ name, tags: [] });
      const limit = n ?? 100 * MAX_PAGE;
      const tags = await listTags(deps, name, { limit: limit + 1, ...(last ? { last } : {}) });
      const page = tags.slice(0, limit);
      if (n !== undefined && tags.length > limit) c.header('Link', nextLink(`/v2/${name}/tags/list`, n, page.at(-1)!));
      return c.json({ name, tags: page });
    },
  };
}
