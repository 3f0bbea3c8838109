// The key nginx files a token's first page under (snippets/private-cache.conf):
// the SHA-256 of the API token, hex, which is the digest the app stores and
// purges by. The token itself is never written to the cache. Empty, so not
// cached, for anything but a well-formed token (the app's own grammar, from
// app/nginx-contract.json).
import crypto from 'crypto';

const BEARER = /^Bearer ({{TOKEN_PATTERN}})$/;

function credential(r) {
  const m = BEARER.exec(r.headersIn.Authorization || '');
  return m ? crypto.createHash('sha256').update(m[1]).digest('hex') : '';
}

export default { credential };
