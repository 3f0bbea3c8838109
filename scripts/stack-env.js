// The stack's settings file (.data/<stack>/stack.env), written by
// scripts/stack.sh up: NAME=value lines. Its one reader, for
// ecosystem.config.js, the benchmark and stack.sh itself
// (`node scripts/stack-env.js FILE NAME` prints one value).
const fs = require('node:fs');

/** @param {string} file @returns {Record<string, string>} */
function readStackEnv(file) {
  if (!fs.existsSync(file)) return {};
  /** @type {Record<string, string>} */
  const env = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

module.exports = { readStackEnv };

if (require.main === module) {
  const [file, name] = process.argv.slice(2);
  process.stdout.write(`${readStackEnv(file)[name] ?? ''}\n`);
}
