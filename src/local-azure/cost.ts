import { randomUUID } from 'node:crypto';
import type { EmulatorCore } from './core.js';

export interface CostColumn {
  name: string;
  type: 'Number' | 'String' | (string & {});
}
export interface CostAnswer {
  columns: CostColumn[];
  rows: unknown[][];
}
/** A fixed answer, or one computed from the request body (e.g. by its timeframe). */
export type CostResponder = CostAnswer | ((body: Record<string, unknown>) => CostAnswer);

export interface CostState {
  /** Rows per page; answers longer than this are paged with nextLink. */
  pageSize: number;
  query: CostResponder;
  forecast: CostResponder;
  /** Every request body received, first pages and nextLink pages alike. */
  readonly requests: Array<{ kind: 'query' | 'forecast'; scope: string; page: number; body: Record<string, unknown> }>;
}

export const DEFAULT_QUERY_COLUMNS: CostColumn[] = [
  { name: 'Cost', type: 'Number' },
  { name: 'UsageDate', type: 'Number' },
  { name: 'Currency', type: 'String' },
];
export const DEFAULT_FORECAST_COLUMNS: CostColumn[] = [
  { name: 'Cost', type: 'Number' },
  { name: 'UsageDate', type: 'Number' },
  { name: 'CostStatus', type: 'String' },
  { name: 'Currency', type: 'String' },
];

export function installCost(core: EmulatorCore): CostState {
  const state: CostState = {
    pageSize: 1000,
    query: { columns: DEFAULT_QUERY_COLUMNS, rows: [] },
    forecast: { columns: DEFAULT_FORECAST_COLUMNS, rows: [] },
    requests: [],
  };
  for (const kind of ['query', 'forecast'] as const) {
    core.addRoute({
      operation: `cost.${kind}`,
      method: 'POST',
      path: `/{scope*}/providers/Microsoft.CostManagement/${kind}`,
      handler: ({ params, body, url }) => {
        const scope = params.scope!;
        const request = (body ?? {}) as Record<string, unknown>;
        const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
        state.requests.push({ kind, scope, page: Math.floor(skip / state.pageSize) + 1, body: request });
        const responder = state[kind];
        const answer = typeof responder === 'function' ? responder(request) : responder;
        const rows = answer.rows.slice(skip, skip + state.pageSize);
        const more = skip + state.pageSize < answer.rows.length;
        const next = new URL(url.toString());
        next.searchParams.set('$skiptoken', String(skip + state.pageSize));
        const id = randomUUID();
        return {
          status: 200,
          body: {
            id: `${scope}/providers/Microsoft.CostManagement/query/${id}`,
            name: id,
            type: 'microsoft.costmanagement/Query',
            properties: { nextLink: more ? next.toString() : null, columns: answer.columns, rows },
          },
        };
      },
    });
  }
  return state;
}
