/**
 * Tiers, by points earned (base and bonus, net of earn reversals) across all partners over a
 * rolling 12 months — never by balance, so spending does not demote a member. Multipliers apply
 * to base points of earns; the bonus is reported apart and funded by the operator.
 */
export interface Tier {
  name: string;
  /** Points earned in the last 12 months to reach this tier. */
  threshold: number;
  /** Exact decimal multiplier of base points (1.25 → 25 % bonus). */
  multiplier: string;
}

export const TIERS: readonly Tier[] = [
  { name: "blue", threshold: 0, multiplier: "1" },
  { name: "silver", threshold: 10_000, multiplier: "1.25" },
  { name: "gold", threshold: 50_000, multiplier: "1.5" },
  { name: "platinum", threshold: 150_000, multiplier: "2" },
];

export const TIER_WINDOW_MONTHS = 12;

export interface TierStatus {
  tier: Tier;
  earned_12m: number;
  next: { name: string; threshold: number; points_to_go: number } | null;
}

export function tierFor(earned12m: number): TierStatus {
  let index = 0;
  for (let i = 0; i < TIERS.length; i++) if (earned12m >= TIERS[i]!.threshold) index = i;
  const tier = TIERS[index]!;
  const next = TIERS[index + 1];
  return {
    tier,
    earned_12m: earned12m,
    next: next ? { name: next.name, threshold: next.threshold, points_to_go: next.threshold - earned12m } : null,
  };
}
