import type { Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import type { Paths } from './openapi.js';

export const paths: Paths = {};

export function register(_api: Hono<AppEnv>, _deps: Deps): void {}
