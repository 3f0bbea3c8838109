import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

// nginx sets HSTS, on HTTPS only. The API returns JSON and the public pages
// plain HTML with our own stylesheet: nothing else may load.
export const securityHeaders = () => helmet({
  strictTransportSecurity: false,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
});

/**
 * The same headers as a fixed list, for the fast path that answers without
 * Express. Taken from helmet itself once, so the two cannot drift apart.
 */
export function securityHeaderList(): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const res = {
    setHeader: (name: string, value: string) => { headers.push([name, String(value)]); },
    removeHeader: () => undefined,
  } as unknown as ServerResponse;
  securityHeaders()({} as IncomingMessage, res, () => undefined);
  return headers;
}
