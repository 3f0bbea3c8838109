// tsx scripts/openapi.ts FILE: writes the API description (app/openapi.ts)
// to FILE, for the linter (scripts/lint.sh). The build writes the served
// copy itself (scripts/build-web.ts).
import { writeFileSync } from 'node:fs';
import { buildApiDocument } from '../app/openapi';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx scripts/openapi.ts FILE');
writeFileSync(file, `${JSON.stringify(buildApiDocument('lint'), null, 2)}\n`);
