// CORS_ORIGINS, a setting of the run command: the origins whose pages may
// call the API with a token, comma-separated and written exactly as browsers
// send them in Origin (https://app.example.com). nginx answers CORS
// (nginx/snippets/cors.conf); render_nginx (scripts/lib.sh) renders the list
// into its map with `node scripts/cors-origins.js "$CORS_ORIGINS"`, which
// prints the map's entries, or what is wrong and exits 1.

// Lowercase host names, IPv4 or bracketed IPv6 addresses, an optional port:
// nothing that could end a quoted string or a directive in nginx's config.
const ORIGIN = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;

/** @param {string} entry @returns {string} */
function checkOrigin(entry) {
  /** @type {string | undefined} */
  let canonical;
  try {
    canonical = new URL(entry).origin;
  } catch {
    canonical = undefined;
  }
  // A browser's Origin is the URL's origin serialised: lowercase, no default
  // port, no path or trailing slash. Anything else would never match.
  if (entry === canonical && ORIGIN.test(entry)) return entry;
  const hint = canonical !== undefined && ORIGIN.test(canonical) ? ` (as a browser sends it: ${canonical})` : '';
  throw new Error(
    `CORS_ORIGINS: "${entry}" is not an origin${hint}; list origins as scheme://host[:port], comma-separated, such as https://app.example.com`,
  );
}

/**
 * The origins in a CORS_ORIGINS value, each checked; empty (the default): no
 * CORS at all. Throws an Error naming the first entry that is not an origin.
 * @param {string} value @returns {string[]}
 */
function parseCorsOrigins(value) {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...new Set(entries.map(checkOrigin))];
}

module.exports = { parseCorsOrigins };

if (require.main === module) {
  try {
    const origins = parseCorsOrigins(process.argv[2] ?? '');
    process.stdout.write(`${origins.map((o) => `"${o}" 1;`).join(' ')}\n`);
  } catch (err) {
    process.stdout.write(`${/** @type {Error} */ (err).message}\n`);
    process.exit(1);
  }
}
