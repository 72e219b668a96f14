import { expect } from 'vitest';
import { ErrorNumber, VirError, type ErrorDomainName, type ErrorName } from '../../../protocol/errors.js';

/** Run `fn`, require a VirError, and check its number, name, domain and full message. */
export function expectVirError(fn: () => unknown, errName: ErrorName, message: string, domain?: ErrorDomainName): VirError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a VirError to be thrown').toBeInstanceOf(VirError);
  const err = caught as VirError;
  expect(err.errName).toBe(errName);
  expect(err.code).toBe(ErrorNumber[errName]);
  expect(err.message).toBe(message);
  if (domain !== undefined) expect(err.domain).toBe(domain);
  return err;
}
