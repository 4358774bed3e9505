import { redact } from '../redact.js';

/** An Azure call that failed, said so a person can act on it. Never carries a token or secret value. */
export class AzureOperationError extends Error {
  override name = 'AzureOperationError';
  constructor(
    /** e.g. "restart with failover" */
    readonly operation: string,
    /** e.g. "flexible server phonebill-postgresql-prod" */
    readonly resource: string,
    readonly status: number | undefined,
    /** The service's error code, e.g. "ResourceNotFound". */
    readonly code: string | undefined,
    detail: string,
  ) {
    super(redact(`Azure ${operation} on ${resource} failed${status ? ` (HTTP ${status}${code ? ` ${code}` : ''})` : code ? ` (${code})` : ''}: ${detail}`));
  }
}

/** Cost Management kept answering 429 for longer than the configured bound. */
export class AzureThrottledError extends AzureOperationError {
  override name = 'AzureThrottledError';
}

const hints: Record<number, string> = {
  401: "the credential was refused: check the Function App's managed identity (or your az login) and its tenant.",
  403: "the identity lacks a role on the resource: grant it (e.g. Contributor on the server, Cost Management Reader on the scope, Key Vault Secrets Officer on the vault).",
  404: 'the resource does not exist: check the DBOPS_AZURE_* / DBOPS_KEYVAULT_URL settings that name it.',
  409: 'another operation is in progress on the resource: retry after it finishes.',
  429: 'Azure is throttling the calls: retry later.',
};

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  details?: unknown;
}

function serviceError(err: RestErrorLike): { code?: string; message?: string } {
  const details = err.details as { error?: { code?: string; message?: string }; code?: string; message?: string } | undefined;
  const inner = details?.error ?? details;
  return { code: inner?.code ?? err.code, message: inner?.message ?? err.message };
}

/**
 * Wraps any failure of an Azure call: RestError (status, service code), a failed long-running
 * operation (its error code), network errors. Messages pass through redaction.
 */
export function azureError(err: unknown, operation: string, resource: string): AzureOperationError {
  if (err instanceof AzureOperationError) return err;
  const e = (err ?? {}) as RestErrorLike & { name?: string };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const { code, message } = serviceError(e);
  const codeText = code && code !== 'REQUEST_SEND_ERROR' ? code : undefined;
  let detail = (message ?? String(err)).replace(/\s+/g, ' ').trim();
  if (status === undefined && (e.code === 'REQUEST_SEND_ERROR' || /\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET)\b|certificate/.test(detail))) {
    detail = `cannot reach the endpoint (${detail}); check the endpoint settings and the network path.`;
  } else if (status && hints[status]) {
    detail = `${detail} — ${hints[status]}`;
  }
  return new AzureOperationError(operation, resource, status, codeText, detail);
}

/** Runs one Azure call and turns its failure into an AzureOperationError. */
export async function callAzure<T>(operation: string, resource: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw azureError(err, operation, resource);
  }
}
