/**
 * Limits of the core, each a named maximum (STYLE.md: a limit on everything). The shell validates
 * configured values against these ranges at start-up.
 */
export interface CoreLimits {
  /** Open orders across all markets (also the matching engine's preallocated order pool). */
  ordersOpenMax: number;
  /** Accounts ever funded. */
  accountsMax: number;
  /** Trades one command may make; a taker that reaches it has its remainder expired. */
  fillsPerCommandMax: number;
  /** (accountId, clientOrderId) pairs remembered for idempotency; the oldest are forgotten first. */
  clientOrderIdsMax: number;
}

export const DEFAULT_CORE_LIMITS: Readonly<CoreLimits> = Object.freeze({
  ordersOpenMax: 1_000_000,
  accountsMax: 1_000_000,
  fillsPerCommandMax: 10_000,
  clientOrderIdsMax: 1_000_000,
});

export function validateCoreLimits(limits: CoreLimits): string[] {
  const errors: string[] = [];
  const check = (name: keyof CoreLimits, min: number, max: number): void => {
    const value = limits[name];
    if (!Number.isInteger(value) || value < min || value > max) errors.push(`${name} must be an integer from ${min} to ${max}`);
  };
  check('ordersOpenMax', 1, 50_000_000);
  check('accountsMax', 1, 50_000_000);
  check('fillsPerCommandMax', 1, 1_000_000);
  check('clientOrderIdsMax', 1, 50_000_000);
  return errors;
}
