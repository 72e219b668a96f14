import { expect } from 'vitest';
import { ErrorNumber, VirError, type ErrorName } from '../../protocol/errors.js';

/** Await `p`, expect it to reject with the libvirt error `name` (exact code) and, if given, message. */
export async function expectVirError(p: Promise<unknown>, name: ErrorName, message?: string | RegExp): Promise<VirError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${name}`).toBeInstanceOf(VirError);
  const err = caught as VirError;
  expect({ code: err.code, name: err.errName, message: err.message }).toMatchObject({ code: ErrorNumber[name], name });
  if (typeof message === 'string') expect(err.message).toBe(message);
  else if (message) expect(err.message).toMatch(message);
  return err;
}
