/**
 * The libvirt session of a connection (daemon/session.ts): which driver its
 * calls reach, and openDriver, which lets dispatch go on without waiting a turn
 * only while that driver is open.
 */
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { DriverRegistry } from '../../daemon/drivers.js';
import { EventBus } from '../../daemon/event-bus.js';
import { LibvirtSession } from '../../daemon/session.js';
import type { Driver, DriverFactory } from '../../drivers/driver.js';
import { expectVirError } from '../helpers/expect-error.js';

function factory(scheme: string): DriverFactory {
  return {
    scheme,
    canonicalUri: (uri) => (uri.protocol === `${scheme}:` ? `${scheme}:///only` : undefined),
    open: async (uri) => ({
      scheme, uri, funcPrefix: scheme, events: new EventEmitter(),
      resolveDomain: () => ({ uuid: '', name: '' }), hasDomain: () => false, close: async () => undefined,
    } as unknown as Driver),
  };
}

function session(defaultUri = 'a:///') {
  const registry = new DriverRegistry([factory('a'), factory('b')], { stateDir: '/nonexistent', log: () => undefined });
  return { registry, s: new LibvirtSession(false, 'test', { registry, defaultUri, events: new EventBus() }, () => undefined) };
}

describe('libvirt session', () => {
  it('openDriver gives the driver only while it is open: after virConnectOpen, or once the default one is open', async () => {
    const { registry, s } = session();
    expect(s.openDriver()).toBeUndefined();
    // Without virConnectOpen, the first call opens the default URI; openDriver knows it once it is open.
    const lazy = s.driver('virDomainGetState');
    expect(s.openDriver()).toBeUndefined();
    expect((await lazy).uri).toBe('a:///only');
    expect(s.openDriver()).toBe(await registry.get('a:///'));
    await s.connectCall('virConnectClose', {});
    expect(s.openDriver()).toBeUndefined();
    await expectVirError(s.driver('virDomainGetState'), 'VIR_ERR_INVALID_CONN');
    await s.connectCall('virConnectOpen', { uri: 'b:///' });
    expect(s.openDriver()).toBe(await registry.get('b:///'));
    expect(await s.driver('virDomainGetState')).toBe(s.openDriver());
  });

  it('a default driver still opening is not replaced by it once virConnectOpen chose another', async () => {
    const { registry, s } = session();
    const lazy = s.driver('virDomainGetState');
    await s.connectCall('virConnectOpen', { uri: 'b:///' });
    await lazy;
    expect(s.openDriver()).toBe(await registry.get('b:///'));
  });
});
