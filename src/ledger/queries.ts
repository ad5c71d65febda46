import type { Executor } from "../db/database.js";

/** Points earned by the member over the tier window (the ledger fills this in). */
export async function earnedLast12Months(_db: Executor, _memberId: string): Promise<number> {
  return 0;
}

export interface HistoryItem {
  transaction_id: string;
  created_at: string;
  partner_name: string;
  label: string;
  signed_points: number;
  status: "posted" | "pending";
  available_at?: string;
}

/** The member's transactions across all brands, newest first (the ledger fills this in). */
export async function memberHistory(_db: Executor, _memberId: string, _limit: number): Promise<HistoryItem[]> {
  return [];
}
