/** Arithmetic helpers used across the fixture workspace. */
export interface Range {
  min: number;
  max: number;
}

export function clamp(value: number, range: Range): number {
  return Math.min(range.max, Math.max(range.min, value));
}

export function sum(values: number[]): number {
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return total;
}
