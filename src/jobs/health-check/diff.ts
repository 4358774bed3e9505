import type { Finding } from '../../shared/job.js';
import type { Problem } from './snapshot.js';

const keyOf = (p: { check: string; target?: string | null }) => `${p.check}|${p.target ?? ''}`;

export interface ProblemChanges {
  /** New problems and problems whose severity changed, as found now. */
  changed: Finding[];
  /** Problems of the previous check that are gone, as info findings. */
  resolved: Finding[];
  /** How many problems are the same as in the previous check. */
  persisting: number;
}

/** What a probe reports: the warning and critical findings that differ from the previous check's. */
export function diffProblems(current: readonly Finding[], previous: readonly Problem[] | undefined): ProblemChanges {
  const before = new Map((previous ?? []).map((p) => [keyOf(p), p]));
  const now = current.filter((f) => f.severity !== 'info');
  const nowKeys = new Set(now.map(keyOf));
  const changed: Finding[] = [];
  let persisting = 0;
  for (const f of now) {
    const prev = before.get(keyOf(f));
    if (prev && prev.severity === f.severity) persisting++;
    else changed.push(prev ? { ...f, message: `${f.message} (was ${prev.severity})` } : f);
  }
  const resolved: Finding[] = [...before.values()]
    .filter((p) => !nowKeys.has(keyOf(p)))
    .map((p) => ({ check: p.check, ...(p.target ? { target: p.target } : {}), severity: 'info', message: `resolved: ${p.message}`, details: { resolved: true, was: p.severity } }));
  return { changed, resolved, persisting };
}
