/**
 * Driver registry: the drivers daemon/main.ts registers (one line each; daemon/
 * names no concrete driver anywhere else), the driver for a URI, and each URI
 * opened once, shared by every connection (test:///default's state is one
 * state for all clients).
 */
import { VirError } from '../protocol/errors.js';
import type { Driver, DriverFactory, DriverOpenOptions } from '../drivers/driver.js';

export class DriverRegistry {
  private readonly open = new Map<string, Promise<Driver>>();

  private readonly factories: DriverFactory[] = [];

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

  /** The canonical URI and driver for `uri`; opens the driver on first use. */
  async get(uri: string): Promise<Driver> {
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      throw new VirError('VIR_ERR_INVALID_ARG', `could not parse connection URI '${uri}'`, 'VIR_FROM_NONE');
    }
    for (const factory of this.factories) {
      const canonical = factory.canonicalUri(parsed);
      if (canonical === undefined) continue;
      let driver = this.open.get(canonical);
      if (!driver) {
        driver = factory.open(canonical, this.opts);
        driver.then(this.onOpen, () => undefined);
        this.open.set(canonical, driver);
        driver.catch(() => this.open.delete(canonical));
      }
      return driver;
    }
    throw new VirError('VIR_ERR_NO_SUPPORT', `no connection driver available for ${uri}`, 'VIR_FROM_NONE');
  }

  async closeAll(): Promise<void> {
    const drivers = await Promise.allSettled([...this.open.values()]);
    for (const d of drivers) if (d.status === 'fulfilled') await d.value.close();
  }
}
