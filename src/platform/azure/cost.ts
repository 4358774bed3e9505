import type { CostManagementClient, ForecastDefinition, QueryDefinition, QueryResult } from '@azure/arm-costmanagement';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import { azureError, callAzure } from './errors.js';

export type { ForecastDefinition, QueryDefinition };

export interface CostColumn {
  name: string;
  type: string;
}

/** A Cost Management answer, every page joined: `UsageDate` cells are numbers like 20261129. */
export interface CostTable {
  columns: CostColumn[];
  rows: unknown[][];
  pages: number;
}

export interface CostManagement {
  readonly scope: string;
  query(definition: QueryDefinition): Promise<CostTable>;
  forecast(definition: ForecastDefinition): Promise<CostTable>;
}

/** A query that pages forever is a bug somewhere; stop well before a function times out. */
const MAX_PAGES = 200;

interface RawPage {
  properties?: { nextLink?: string | null; columns?: CostColumn[]; rows?: unknown[][] };
}

/**
 * Query and forecast over every page. The service pages with `nextLink`, which must be POSTed
 * with the same body as the first request; the SDK does not follow it, so this does, through
 * the client's own pipeline (credential, retries, throttling policy).
 */
export function createCostManagement(loadClient: () => Promise<CostManagementClient>, scope: string): CostManagement {
  const resource = `cost scope ${scope}`;

  async function allPages(operation: string, first: (onResponse: (r: PipelineResponse) => void) => Promise<QueryResult>): Promise<CostTable> {
    let firstResponse: PipelineResponse | undefined;
    const result = await callAzure(operation, resource, () => first((r) => (firstResponse = r)));
    const table: CostTable = { columns: (result.columns ?? []).map((c) => ({ name: c.name ?? '', type: c.type ?? '' })), rows: [...(result.rows ?? [])], pages: 1 };
    let next = result.nextLink ?? undefined;
    const body = firstResponse?.request.body;
    if (next && typeof body !== 'string') throw azureError(new Error('the first request body was not kept, cannot follow nextLink'), operation, resource);
    if (!next) return table;
    const client = await loadClient();
    const { createPipelineRequest, createHttpHeaders } = await import('@azure/core-rest-pipeline');
    const headers = () => createHttpHeaders({ 'content-type': 'application/json', accept: 'application/json' });
    while (next) {
      if (table.pages >= MAX_PAGES) throw azureError(new Error(`more than ${MAX_PAGES} pages; narrow the query`), operation, resource);
      const url: string = next;
      const response = await callAzure(`${operation} (page ${table.pages + 1})`, resource, () =>
        client.sendRequest(createPipelineRequest({ url, method: 'POST', body: body as string, headers: headers() })),
      );
      const parsed = parseJson(response.bodyAsText);
      if (response.status >= 400) {
        const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw azureError({ statusCode: response.status, code: error?.code, message: error?.message ?? `HTTP ${response.status}` }, `${operation} (page ${table.pages + 1})`, resource);
      }
      const page = (parsed ?? {}) as RawPage;
      table.rows.push(...(page.properties?.rows ?? []));
      table.pages += 1;
      next = page.properties?.nextLink ?? undefined;
    }
    return table;
  }

  return {
    scope,
    query: (definition) => allPages('Cost Management query', async (onResponse) => (await loadClient()).query.usage(scope, definition, { onResponse })),
    forecast: (definition) => allPages('Cost Management forecast', async (onResponse) => (await loadClient()).forecast.usage(scope, definition, { onResponse })),
  };
}

function parseJson(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
