/**
 * Driver registry: the drivers daemon/main.ts registers (one line each; daemon/
 * names no concrete driver anywhere else), the driver for a URI, and each URI
 * opened once, shared by every connection (test:///default's state is one
 * state for all clients).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { VirError } from '../protocol/errors.js';
import type { CredentialAnswer } from '../protocol/schemas.js';
import type { Driver, DriverFactory, DriverOpenOptions } from '../drivers/driver.js';

export class DriverRegistry {
  private readonly open = new Map<string, Promise<Driver>>();

  private readonly factories: DriverFactory[] = [];
  private readonly salt = randomBytes(32);

  constructor(
    factories: readonly DriverFactory[],
    private readonly opts: DriverOpenOptions,
    /** Called once for each driver when it is opened (the daemon subscribes to its events). */
    private readonly onOpen: (driver: Driver) => void = () => undefined,
  ) {
    for (const f of factories) this.register(f);
  }

  /** Add a driver; a scheme can be served by one driver only. */
  register(factory: DriverFactory): void {
    if (this.factories.some((f) => f.scheme === factory.scheme)) {
      throw new Error(`driver for scheme '${factory.scheme}' registered twice`);
    }
    this.factories.push(factory);
  }

  /**
   * The canonical URI and driver for `uri`; opens the driver on first use.
   * `credentials` (virConnectOpenAuth's answers) go to a driver that accepts
   * them, whose instances are then kept per set of credentials.
   */
  async get(uri: string, credentials?: readonly CredentialAnswer[]): Promise<Driver> {
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      throw new VirError('VIR_ERR_INVALID_ARG', `could not parse connection URI '${uri}'`, 'VIR_FROM_NONE');
    }
    for (const factory of this.factories) {
      const canonical = factory.canonicalUri(parsed);
      if (canonical === undefined) continue;
      const given = factory.acceptsCredentials && credentials?.length ? credentials : undefined;
      const key = given ? `${canonical}\0${this.credentialKey(given)}` : canonical;
      let driver = this.open.get(key);
      if (!driver) {
        driver = factory.open(canonical, this.opts, given);
        driver.then(this.onOpen, () => undefined);
        this.open.set(key, driver);
        driver.catch(() => this.open.delete(key));
      }
      return driver;
    }
    throw new VirError('VIR_ERR_NO_SUPPORT', `no connection driver available for ${uri}`, 'VIR_FROM_NONE');
  }

  /** A keyed digest of the answers: the registry keeps no password in its keys. */
  private credentialKey(given: readonly CredentialAnswer[]): string {
    const h = createHmac('sha256', this.salt);
    for (const c of given) h.update(`${c.type}\0${c.result.length}\0${c.result}`);
    return h.digest('hex');
  }

  async closeAll(): Promise<void> {
    const drivers = await Promise.allSettled([...this.open.values()]);
    for (const d of drivers) if (d.status === 'fulfilled') await d.value.close();
  }
}
