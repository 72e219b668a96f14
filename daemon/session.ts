/**
 * One client's libvirt connection (what `virConnectPtr` is in libvirt): the
 * driver URI it opened, whether it came in on the read-only socket, who the peer
 * is, and its event subscriptions. It knows nothing of JSON-RPC or frames: the
 * endpoint (rpc-endpoint.ts) hands it the `connect`-scope calls through dispatch,
 * and it hands events back through `notify`.
 */
import { unsupportedFlags, VirError } from '../protocol/errors.js';
import { ConnectOpenFlags } from '../protocol/flags.js';
import type { MethodName } from '../protocol/procedures.js';
import type { CredentialAnswer } from '../protocol/schemas.js';
import type { Driver } from '../drivers/driver.js';
import type { ConnectionState } from './dispatch.js';
import type { DriverRegistry } from './drivers.js';
import type { EventBus } from './event-bus.js';
import { EventSubscriptions } from './event-subscriptions.js';

export interface SessionDeps {
  registry: DriverRegistry;
  defaultUri: string;
  events: EventBus;
}

/** Sends a server-to-client notification on the session's connection. */
export type Notify = (method: string, params: unknown) => void;

export class LibvirtSession implements ConnectionState {
  private driverPromise?: Promise<Driver>;
  /** The driver once driverPromise has given it (what openDriver answers). */
  private opened?: Driver;
  private uri?: string;
  private explicitlyOpened = false;
  private closed = false;
  private readonly subscriptions: EventSubscriptions;

  /** Read-only: from the socket or certificate, or asked for by virConnectOpen(VIR_CONNECT_RO); never undone. */
  readonly: boolean;

  constructor(
    readonly_: boolean,
    readonly peer: string,
    private readonly deps: SessionDeps,
    notify: Notify,
  ) {
    this.readonly = readonly_;
    this.subscriptions = new EventSubscriptions(deps.events, (callbackID, event) =>
      notify('virConnectDomainEvent', { callbackID, event }));
  }

  async driver(method: string): Promise<Driver> {
    if (this.closed) throw new VirError('VIR_ERR_INVALID_CONN', method, 'VIR_FROM_NONE');
    if (!this.driverPromise) {
      this.uri = this.deps.defaultUri;
      const p = this.deps.registry.get(this.uri);
      this.driverPromise = p;
      p.then((d) => {
        if (this.driverPromise === p) this.opened = d;
      }, () => (this.driverPromise = undefined));
    }
    return this.driverPromise;
  }

  openDriver(): Driver | undefined {
    return this.closed ? undefined : this.opened;
  }

  async connectCall(method: MethodName, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'virConnectOpen': {
        if (this.explicitlyOpened && !this.closed) {
          throw new VirError('VIR_ERR_OPERATION_INVALID', 'connection is already open', 'VIR_FROM_NONE');
        }
        const flags = (params.flags as number | undefined) ?? 0;
        if ((flags & ~ConnectOpenFlags.VIR_CONNECT_RO) !== 0) throw unsupportedFlags(flags & ~ConnectOpenFlags.VIR_CONNECT_RO, method, 'VIR_FROM_NONE');
        const uri = (params.uri as string | undefined) || this.deps.defaultUri;
        const driver = await this.deps.registry.get(uri, params.credentials as CredentialAnswer[] | undefined);
        if (flags & ConnectOpenFlags.VIR_CONNECT_RO) this.readonly = true;
        this.driverPromise = Promise.resolve(driver);
        this.opened = driver;
        this.uri = driver.uri;
        this.explicitlyOpened = true;
        this.closed = false;
        return { uri: driver.uri };
      }
      case 'virConnectGetURI':
        return (await this.driver(method)).uri;
      case 'virConnectDomainEventRegisterAny': {
        const driver = await this.driver(method);
        const domainUuid = params.domain !== undefined ? driver.resolveDomain(params.domain as string).uuid : undefined;
        return this.subscriptions.register({
          eventID: params.eventID as number, uri: driver.uri, domainUuid, since: params.since as number | undefined,
        });
      }
      case 'virConnectDomainEventDeregisterAny':
        this.subscriptions.deregister(params.callbackID as number);
        return 0;
      case 'virConnectClose':
        this.subscriptions.dispose();
        this.closed = true;
        this.driverPromise = undefined;
        this.opened = undefined;
        this.explicitlyOpened = false;
        return 0;
      default:
        throw new VirError('VIR_ERR_NO_SUPPORT', method, 'VIR_FROM_NONE');
    }
  }

  /** The connection is gone: no more events. */
  dispose(): void {
    this.subscriptions.dispose();
  }
}
