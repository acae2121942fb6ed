import type { Deps } from '../deps.js';
import type { MethodMap } from './routes.js';
import { listRepositoryNames } from '../../../../shared/db/repositories.js';
import { MAX_PAGE, nextLink, pageParams } from './pagination.js';

export function catalogHandlers(deps: Deps): MethodMap {
  return {
    GET: async (c) => {
      const { n, last } = pageParams(c.req.query('n'), c.req.query('last'));
      if (n === 0) return c.json({ repositories: [] });
      const limit = n ?? MAX_PAGE;
      const names = await listRepositoryNames(deps.db, { limit: limit + 1, ...(last ? { last } : {}) });
      const readable = await c.get('access').readable(names);
      const page = names.slice(0, limit).filter((name) => readable.has(name));
      if (names.length > limit) c.header('Link', nextLink('/v2/_catalog', limit, names[limit - 1]!));
      return c.json({ repositories: page });
    },
  };
}
