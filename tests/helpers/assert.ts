/**
 * Minimal assertions (JSR's @std/assert does not resolve here): each failure says what was
 * expected and what was found.
 */
import {
  deepStrictEqual,
  match,
  notDeepStrictEqual,
  ok,
  rejects,
  throws,
} from "node:assert/strict";

/** Asserts a truthy value. */
export function assert(v: unknown, msg?: string): asserts v {
  ok(v, msg);
}
/** Deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg);
}
/** Deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  notDeepStrictEqual(actual, expected, msg);
}
/** A string matches a pattern. */
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  match(actual, re, msg);
}
/** A function throws an error whose message matches. */
export function assertThrows(f: () => unknown, re?: RegExp): void {
  throws(f, (e: unknown) => !re || re.test(String((e as Error)?.message ?? e)));
}
/** A promise rejects with an error whose message matches. */
export async function assertRejects(f: () => Promise<unknown>, re?: RegExp): Promise<void> {
  await rejects(f, (e: unknown) => !re || re.test(String((e as Error)?.message ?? e)));
}
