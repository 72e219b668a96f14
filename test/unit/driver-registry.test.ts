/**
 * The daemon's driver registry (daemon/drivers.ts): drivers are registered
 * once per scheme, a URI picks its driver, each canonical URI is opened once
 * and shared, and a URI nobody serves is VIR_ERR_NO_SUPPORT.
 */
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { DriverRegistry } from '../../daemon/drivers.js';
import type { Driver, DriverFactory } from '../../drivers/driver.js';
import { expectVirError } from '../helpers/expect-error.js';

function factory(scheme: string, opened: string[]): DriverFactory {
  return {
    scheme,
    canonicalUri: (uri) => (uri.protocol === `${scheme}:` ? `${scheme}:///only` : undefined),
    open: async (uri) => {
      opened.push(uri);
      return {
        scheme, uri, funcPrefix: scheme, events: new EventEmitter(),
        resolveDomain: () => ({ uuid: '', name: '' }), hasDomain: () => false, close: async () => undefined,
      } as unknown as Driver;
    },
  };
}

const opts = { stateDir: '/nonexistent', log: () => undefined };

describe('driver registry', () => {
  it('opens the driver of a URI once, under its canonical URI, and tells onOpen', async () => {
    const opened: string[] = [];
    const seen: string[] = [];
    const reg = new DriverRegistry([factory('a', opened), factory('b', opened)], opts, (d) => seen.push(d.uri));
    const d1 = await reg.get('b:///x');
    const d2 = await reg.get('b:///y');
    expect(d1).toBe(d2);
    expect(d1.uri).toBe('b:///only');
    expect(opened).toEqual(['b:///only']);
    expect(seen).toEqual(['b:///only']);
  });

  it('refuses a second driver for the same scheme', () => {
    const reg = new DriverRegistry([factory('a', [])], opts);
    expect(() => reg.register(factory('a', []))).toThrow("driver for scheme 'a' registered twice");
    reg.register(factory('c', []));
  });

  it('a URI no driver serves, or one that does not parse: libvirt\'s errors', async () => {
    const reg = new DriverRegistry([factory('a', [])], opts);
    await expectVirError(reg.get('zzz:///x'), 'VIR_ERR_NO_SUPPORT', /no connection driver available for zzz:\/\/\/x/);
    await expectVirError(reg.get('not a uri'), 'VIR_ERR_INVALID_ARG', /could not parse connection URI 'not a uri'/);
  });
});
