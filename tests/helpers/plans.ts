import assert from 'node:assert/strict';
import type { Deps } from '../../app/deps';
import { listQuery } from '../../app/todos/schema';
import * as service from '../../app/todos/service';
import type { TestApp } from './app';

/** One node of PostgreSQL's EXPLAIN (FORMAT JSON) output, with the fields the plan tests read. */
export type PlanNode = {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Scan Direction'?: string;
  'Total Cost': number;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
};

export const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];

/** The exact SQL and values the app's list service sends for this query string. */
export async function listSql(t: TestApp, userId: string, query: Record<string, string>): Promise<{ text: string; values: unknown[] }> {
  const calls: Array<{ text: string; values: unknown[] }> = [];
  const recorder = {
    query: (text: string, values: unknown[] = []) => {
      calls.push({ text, values });
      return Promise.resolve({ rows: [], rowCount: 0 });
    },
  };
  await service.listTodos({ ...t.deps, db: recorder } as unknown as Deps, userId, listQuery.parse(query));
  assert.equal(calls.length, 1, 'one list is one query');
  return calls[0]!;
}

/** The plan PostgreSQL runs for the app's list query, with actual row counts. */
export async function explainList(t: TestApp, userId: string, query: Record<string, string>): Promise<PlanNode> {
  const { text, values } = await listSql(t, userId, query);
  const { rows } = await t.deps.db.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
  return rows[0]!['QUERY PLAN'][0]!.Plan;
}

/** The plan's node types from the top down, for messages. */
export const shapeOf = (plan: PlanNode) =>
  nodesOf(plan)
    .map((n) => `${n['Node Type']}${n['Index Name'] ? ` on ${n['Index Name']}` : ''}`)
    .join(' > ');
