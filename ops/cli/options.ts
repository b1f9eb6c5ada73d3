/** Parsers for numeric CLI options, so every command rejects "--count abc" the same way. */
import { InvalidArgumentError } from "commander";

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  }
  return number;
}

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError(`expected a number > 0, got "${value}"`);
  }
  return number;
}
