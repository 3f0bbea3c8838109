import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's cost: N = 2^logN, and p passes (one after another) over 128·N·r bytes. */
export type ScryptCost = Readonly<{ logN: number; p: number }>;

// Stored as scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>, so the cost can be
// raised later without breaking existing hashes.
const R = 8;
const KEY_LEN = 32;

// A hash holds 128·N·r bytes outside the V8 heap for its whole run (32 MiB at
// N=2^15), on one of libuv's four threads. Two at a time per worker keep both
// cores busy with a worker per core and add at most 64 MiB to a worker's RSS;
// four would add 128 MiB to the ~130 MB a worker holds, more than both cores
// can use at once anyway.
const AT_ONCE = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function fewAtOnce<T>(work: () => Promise<T>): Promise<T> {
  if (running < AT_ONCE) running += 1;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    // The slot goes straight to the next in line, if any.
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 };
  return fewAtOnce(
    () =>
      new Promise((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

export async function hashPassword(password: string, cost: ScryptCost): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost.logN, R, cost.p);
  return ['scrypt', cost.logN, R, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Checks a password against a stored hash with the parameters stored in it, whatever today's cost. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), Number(logN), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
