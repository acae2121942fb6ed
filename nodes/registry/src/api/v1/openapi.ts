/**
 * The OpenAPI 3.1 document of /api/v1. Each API module exports the paths it serves next to its handlers, so the
 * document cannot drift from the routes silently (test/api/openapi.test.ts checks every documented path answers).
 */
export type PathItem = Record<string, { summary: string; tags?: string[]; requestBody?: unknown; parameters?: unknown[]; responses?: Record<string, unknown> }>;
export type Paths = Record<string, PathItem>;

export function openapiDocument(paths: Paths[], version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Wharf REST API',
      version,
      description: 'Organizations, teams, robots, repositories, permissions, tags, audit logs, notifications and replication status. '
        + 'Authenticate with HTTP Basic (a user password or a robot token) or a bearer application token.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic' },
        appToken: { type: 'http', scheme: 'bearer', description: 'an application token created under /api/v1/user/apptoken' },
      },
    },
    security: [{ basic: [] }, { appToken: [] }, {}],
    paths: Object.assign({}, ...paths),
  };
}
