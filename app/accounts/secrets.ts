import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe: session ids, API tokens, CSRF tokens. */
export const newSecret = (prefix = '') => prefix + randomBytes(32).toString('base64url');

/** Only this digest is stored; the secret itself is shown to its owner once. */
export const digest = (secret: string) => createHash('sha256').update(secret).digest();

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const TOKEN_PREFIX = 'tdo_';
