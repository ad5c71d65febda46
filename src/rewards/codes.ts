import { groupedCode, humanCode } from "../lib/codes.js";

/**
 * A voucher code: 16 symbols of 5 random bits each (80 bits, over the 60 the contract asks for),
 * in groups of four: `7K3Q-XM9D-2RTV-8HNB`. From the platform's CSPRNG.
 */
export function voucherCode(): string {
  return humanCode(16);
}

/** A code as a person typed it: upper case, separators and spaces dropped, then regrouped. */
export const normaliseVoucherCode = groupedCode;
