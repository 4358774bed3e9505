import { describe, expect, it } from 'vitest';
import { redact, registerSecret } from '../src/platform/redact.js';

describe('redact', () => {
  it.each([
    ['postgres://user:p4ss@host:5432/db', 'postgres://user:[redacted]@host:5432/db'],
    ["ALTER ROLE x PASSWORD 'a''b c'", "ALTER ROLE x PASSWORD '[redacted]'"],
    ['password=abc123 host=h', 'password=[redacted] host=h'],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: Bearer [redacted]'],
    ['SCRAM-SHA-256$4096:hpFyHTUsSWcR7O9P$LgZFIt6Oqdo27ZFKbZ2nV+vtnYM995pDh9ca6WSi120=:qVV5NeluNfUPkwm7Vqat25RjSPLkGeoZBQs6wVv+um4=', '[redacted]'],
  ])('masks %s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('removes registered secret values wherever they appear', () => {
    registerSecret('zz-unique-secret-42');
    expect(redact('x zz-unique-secret-42 y')).toBe('x [redacted] y');
  });

  it('leaves ordinary text alone', () => {
    expect(redact('index idx_pc_history_customer_date is missing')).toBe('index idx_pc_history_customer_date is missing');
  });
});
