import { describe, expect, it } from 'vitest';
import { UNITS_MAX, formatUnits, mulDivCeil, mulDivFloor, parseUnits } from '../../src/domain/fixed_point.ts';

describe('parseUnits', () => {
  it('parses decimal strings into exact integer units', () => {
    expect(parseUnits('65000.10', 2)).toEqual({ ok: true, units: 6500010 });
    expect(parseUnits('0.0100', 4)).toEqual({ ok: true, units: 100 });
    expect(parseUnits('1000.5', 6)).toEqual({ ok: true, units: 1000500000 });
    expect(parseUnits('0', 8)).toEqual({ ok: true, units: 0 });
    expect(parseUnits('7', 0)).toEqual({ ok: true, units: 7 });
  });

  it('accepts trailing zeros beyond the allowed decimals but not significant digits', () => {
    expect(parseUnits('1.500', 1)).toEqual({ ok: true, units: 15 });
    expect(parseUnits('1.05', 1)).toEqual({ ok: false, reason: 'too_many_decimals' });
    expect(parseUnits('0.000000001', 8)).toEqual({ ok: false, reason: 'too_many_decimals' });
  });

  it('rejects malformed and negative strings with a reason', () => {
    for (const text of ['', '.5', '5.', '1e5', '0x10', ' 1', '1 ', '+1', '1,5', 'NaN', 'Infinity', '1.2.3']) {
      expect(parseUnits(text, 8)).toEqual({ ok: false, reason: 'format' });
    }
    expect(parseUnits('-1', 8)).toEqual({ ok: false, reason: 'negative' });
    expect(parseUnits('-0.5', 8)).toEqual({ ok: false, reason: 'negative' });
  });

  it('rejects values beyond the exact integer range or a given maximum', () => {
    expect(parseUnits('90071992.54740991', 8)).toEqual({ ok: true, units: UNITS_MAX });
    expect(parseUnits('90071992.54740992', 8)).toEqual({ ok: false, reason: 'too_large' });
    expect(parseUnits('1'.repeat(40), 0)).toEqual({ ok: false, reason: 'too_large' });
    expect(parseUnits('000000000000000000000001', 2)).toEqual({ ok: true, units: 100 });
    expect(parseUnits('10', 0, 9)).toEqual({ ok: false, reason: 'too_large' });
  });

  it('round-trips with formatUnits for random values', () => {
    let state = 12345;
    for (let i = 0; i < 10_000; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      const decimals = state % 9;
      const units = Math.floor((state / 2147483648) * UNITS_MAX);
      const text = formatUnits(units, decimals);
      expect(parseUnits(text, decimals)).toEqual({ ok: true, units });
    }
  });
});

describe('formatUnits', () => {
  it('prints the canonical form with exactly the given decimals', () => {
    expect(formatUnits(40000000, 8)).toBe('0.40000000');
    expect(formatUnits(20000000000, 6)).toBe('20000.000000');
    expect(formatUnits(5, 2)).toBe('0.05');
    expect(formatUnits(0, 6)).toBe('0.000000');
    expect(formatUnits(123, 0)).toBe('123');
    expect(formatUnits(-150, 2)).toBe('-1.50');
  });
});

describe('mulDivFloor / mulDivCeil', () => {
  it('is exact near the top of the range where float division rounds', () => {
    const a = 94906265;
    const b = 94906265; // a*b = 9007199136250225 <= UNITS_MAX
    expect(mulDivFloor(a, b, 100)).toBe(Number((BigInt(a) * BigInt(b)) / 100n));
    expect(mulDivCeil(a, b, 100)).toBe(Number((BigInt(a) * BigInt(b) + 99n) / 100n));
  });

  it('matches BigInt arithmetic on random inputs', () => {
    let state = 99;
    const next = (): number => {
      state = (state * 48271) % 2147483647;
      return state;
    };
    for (let i = 0; i < 20_000; i++) {
      const a = next() % 100_000_000;
      const b = next() % 90_000_000;
      const d = (next() % 1_000) + 1;
      const product = BigInt(a) * BigInt(b);
      expect(mulDivFloor(a, b, d)).toBe(Number(product / BigInt(d)));
      expect(mulDivCeil(a, b, d)).toBe(Number((product + BigInt(d) - 1n) / BigInt(d)));
    }
  });

  it('refuses a product outside the exact range', () => {
    expect(() => mulDivFloor(UNITS_MAX, 2, 3)).toThrow(/exact range/);
  });
});
