// After the tests (scripts/test.sh): every answer they received, recorded by
// tests/helpers/record-responses.ts, held against the API description that
// the build serves at /api/openapi.json. Prints how many answers each
// operation had checked; fails on any that differs from its description,
// and, on a run of the whole suite (--full), on any operation no test reached.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildApiDocument } from '../app/openapi';
import { apiContract } from '../tests/helpers/api-contract';
import type { RecordedResponse } from '../tests/helpers/record-responses';

async function main(): Promise<void> {
  const dir = process.env.API_RECORD_DIR;
  if (!dir) throw new Error('API_RECORD_DIR is not set');
  const full = process.argv.includes('--full');
  const records: RecordedResponse[] = [];
  for (const name of (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.ndjson'))) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n'))
      if (line) records.push(JSON.parse(line) as RecordedResponse);
  }
  const contract = apiContract(buildApiDocument('check') as unknown as Record<string, unknown>);
  const verdict = contract.judge(records, { internal: process.env.STACK_INTERNAL_URL, prometheus: process.env.STACK_PROMETHEUS_URL });

  const total = [...verdict.checked.values()].reduce((a, b) => a + b, 0);
  console.log(`API answers held against /api/openapi.json: ${total} checked, of ${records.length} recorded`);
  for (const op of contract.operations) console.log(`  ${String(verdict.checked.get(op) ?? 0).padStart(6)}  ${op}`);
  for (const [why, count] of verdict.outOfScope) console.log(`  ${String(count).padStart(6)}  not checked: ${why}`);

  let failed = false;
  if (verdict.mismatches.size > 0) {
    failed = true;
    console.log(`\n${verdict.mismatches.size} kinds of answer differ from the description:`);
    for (const [what, { count, example }] of verdict.mismatches) console.log(`  ${count}× ${what}\n      e.g. ${example}`);
  }
  if (!full) {
    console.log('\nA subset of the tests ran: operations no answer reached are not judged.');
  } else if (verdict.unreached.length > 0) {
    failed = true;
    console.log(`\n${verdict.unreached.length} documented operations had no answer checked:\n  ${verdict.unreached.join('\n  ')}`);
  }
  console.log(failed ? '\nAPI description check: FAILED' : '\nAPI description check: passed');
  process.exit(failed ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
