/**
 * A QR decoder for version 1 symbols (21 × 21), independent of the library that drew them: the
 * portal's inline-SVG QR codes (vouchers, receive and referral codes) are decoded and compared
 * with the text printed beside them.
 */
import { expect } from "vitest";
import type { Page } from "playwright-core";

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/** The module matrix an inline SVG draws: its viewBox and one path of `M x y h w v 1 h -w z` runs. */
export function svgMatrix(viewBox: string, d: string): boolean[][] {
  const size = Number(viewBox.split(" ")[3]);
  const m = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  for (const run of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)) {
    const [x, y, w] = [Number(run[1]), Number(run[2]), Number(run[3])];
    for (let i = 0; i < w; i++) m[y]![x + i] = true;
  }
  expect(d.replace(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g, "")).toBe(""); // nothing but runs
  return m;
}

export function decodeQr(withBorder: boolean[][]): string {
  // Strip the quiet zone (which must be empty).
  let border = 0;
  while (withBorder[border]!.every((v) => !v)) border++;
  expect(border).toBeGreaterThanOrEqual(4);
  const m = withBorder.slice(border, withBorder.length - border).map((row) => row.slice(border, row.length - border));
  const size = m.length;
  expect(size).toBe(21); // version 1
  const at = (x: number, y: number) => m[y]![x]!;
  // Format information (first copy) → error correction level and mask, checked against its BCH code.
  let raw = 0;
  const bit = (i: number, v: boolean) => (raw |= (v ? 1 : 0) << i);
  for (let i = 0; i <= 5; i++) bit(i, at(8, i));
  bit(6, at(8, 7));
  bit(7, at(8, 8));
  bit(8, at(7, 8));
  for (let i = 9; i < 15; i++) bit(i, at(14 - i, 8));
  const format = raw ^ 0x5412;
  const data5 = format >>> 10;
  let rem = data5;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  expect((data5 << 10) | (rem & 0x3ff)).toBe(format);
  const ecl = data5 >>> 3; // M = 0, L = 1, H = 2, Q = 3
  const mask = data5 & 7;
  const masks: ((x: number, y: number) => boolean)[] = [
    (x, y) => (x + y) % 2 === 0,
    (_x, y) => y % 2 === 0,
    (x) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
  ];
  const isFunction = (x: number, y: number) => (x <= 8 && y <= 8) || (x >= size - 8 && y <= 8) || (x <= 8 && y >= size - 8) || x === 6 || y === 6;
  // The data bits in the zigzag order, unmasked.
  const bits: number[] = [];
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
        if (!isFunction(x, y)) bits.push((at(x, y) !== masks[mask]!(x, y) ? 1 : 0));
      }
    }
  }
  expect(bits.length).toBe(26 * 8);
  const dataCodewords = [19, 16, 9, 13][ecl]!; // version 1: one block, data first
  let pos = 0;
  const read = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | bits[pos++]!;
    expect(pos).toBeLessThanOrEqual(dataCodewords * 8);
    return v;
  };
  const mode = read(4);
  let text = "";
  if (mode === 0b0010) {
    let count = read(9);
    for (; count >= 2; count -= 2) {
      const v = read(11);
      text += ALNUM[Math.floor(v / 45)]! + ALNUM[v % 45]!;
    }
    if (count === 1) text += ALNUM[read(6)]!;
  } else if (mode === 0b0100) {
    const count = read(8);
    for (let i = 0; i < count; i++) text += String.fromCharCode(read(8));
  } else throw new Error(`unexpected QR mode ${mode}`);
  return text;
}

/** The text of the inline-SVG QR code inside `item`, decoded. */
export async function qrOf(item: ReturnType<Page["locator"]>): Promise<string> {
  const svg = item.locator("svg.qr");
  expect(await svg.getAttribute("role")).toBe("img");
  return decodeQr(svgMatrix((await svg.getAttribute("viewBox"))!, (await svg.locator("path").getAttribute("d"))!));
}

