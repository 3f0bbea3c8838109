// The public pages (app/public-pages/routes.ts) in the API description.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { describeRoute, HEADERS, ifNoneMatch, json, notModified } from '../api-description';
import { publicPage, publicQuery, slugParam } from './schema';

const tags = ['Public pages'];
const cached = {
  ETag: HEADERS.etag,
  'Cache-Control': { ...HEADERS.cacheControl, description: '`public, max-age=1`: nginx keeps a copy for a second.' },
};

export function describePublicPages(registry: OpenAPIRegistry): void {
  describeRoute(registry, {
    method: 'get',
    path: '/api/public/{slug}/todos',
    operationId: 'getPublicTodos',
    tags,
    summary: 'A published list, as JSON',
    description: "Anyone may read it; credentials change nothing. Served from nginx's cache: an owner's change shows within a second.",
    access: 'anyone',
    ignoresCredentials: true,
    request: { params: slugParam, query: publicQuery, headers: ifNoneMatch },
    problems: ['not-found', 'validation-failed'],
    responses: { 200: json('A page of the list, newest first.', publicPage, cached), 304: notModified },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/u/{slug}',
    operationId: 'getPublicPage',
    tags,
    summary: 'A published list, as a web page',
    description:
      'Server-rendered HTML, read-only, the first page (newest first) or the page at `cursor`. Unknown names and bad parameters get an HTML "not found" page, cached the same way.',
    access: 'anyone',
    outsideApi: true,
    request: { params: slugParam, query: publicQuery, headers: ifNoneMatch },
    responses: {
      200: { description: 'The page.', headers: cached, content: { 'text/html': { schema: { type: 'string' } } } },
      304: notModified,
      404: {
        description: 'No list is published under this name (or the parameters name no page).',
        headers: { 'Cache-Control': cached['Cache-Control'] },
        content: { 'text/html': { schema: { type: 'string' } } },
      },
    },
  });
}
