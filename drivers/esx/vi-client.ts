/**
 * A vSphere API session: Login/Logout with the session cookie, the service
 * content, property retrieval, and the snapshot/power tasks with polling.
 * Only what the ESX driver needs, typed by hand (no WSDL).
 */
import { VirError } from '../../protocol/errors.js';
import { SoapTransport, type TransportOptions } from './soap-transport.js';
import {
  el, envelope, list, moEl, obj, SoapFaultError, text, toMoRef, type MoRef, type XmlObj, type XmlVal,
} from './soap-envelope.js';
import { faultToVirError, taskErrorToVirError, type NotFoundAs } from './vi-faults.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface ObjectContent {
  obj: MoRef;
  props: Map<string, XmlVal>;
}

/** A task's state as polled: progress 0-100 while running. */
export interface TaskProgress {
  task: MoRef;
  state: 'queued' | 'running' | 'success' | 'error';
  progress?: number;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export class ViClient {
  private readonly transport: SoapTransport;
  private content: XmlObj | undefined;
  /** How long to wait between two polls of a running task. */
  pollMs = 20;

  constructor(opts: TransportOptions, private readonly creds: Credentials) {
    this.transport = new SoapTransport(opts);
  }

  /** RetrieveServiceContent, then Login. */
  async connect(): Promise<void> {
    const res = await this.raw('RetrieveServiceContent', moEl('_this', SERVICE_INSTANCE));
    this.content = obj(res.returnval);
    await this.login();
  }

  private async login(): Promise<void> {
    this.transport.dropSession();
    await this.raw('Login', moEl('_this', this.ref('sessionManager')) + el('userName', this.creds.username) + el('password', this.creds.password));
  }

  /** The API type: 'HostAgent' for ESX, 'VirtualCenter' for vCenter. */
  get apiType(): string {
    return text(obj(this.content?.about)?.apiType) ?? '';
  }

  ref(name: string): MoRef {
    const r = toMoRef(this.content?.[name]);
    if (!r) throw new VirError('VIR_ERR_INTERNAL_ERROR', `service content has no ${name}`, 'VIR_FROM_ESX');
    return r;
  }

  async close(): Promise<void> {
    try {
      if (this.transport.hasSession) await this.raw('Logout', moEl('_this', this.ref('sessionManager')));
    } catch {
      // The session may already be gone; closing must not fail because of that.
    } finally {
      this.transport.close();
    }
  }

  /** One call; a fault becomes a VirError. */
  private async raw(method: string, inner: string, notFound?: NotFoundAs): Promise<XmlObj> {
    try {
      return await this.transport.call(method, envelope(method, inner));
    } catch (e) {
      throw e instanceof SoapFaultError ? faultToVirError(e.fault, notFound) : e;
    }
  }

  /** A call made in the session; logs in again once if the server forgot the session. */
  async call(method: string, inner: string, notFound?: NotFoundAs): Promise<XmlObj> {
    try {
      return await this.transport.call(method, envelope(method, inner));
    } catch (e) {
      if (!(e instanceof SoapFaultError)) throw e;
      if (e.fault.faultType !== 'NotAuthenticated') throw faultToVirError(e.fault, notFound);
    }
    await this.login();
    return this.raw(method, inner, notFound);
  }

  async findByInventoryPath(path: string): Promise<MoRef | undefined> {
    const res = await this.call('FindByInventoryPath', moEl('_this', this.ref('searchIndex')) + el('inventoryPath', path));
    return toMoRef(res.returnval);
  }

  /** RetrieveProperties of `paths` on each of `objs` (all of one type). */
  async retrieve(type: string, objs: MoRef[], paths: string[], notFound?: NotFoundAs): Promise<ObjectContent[]> {
    if (objs.length === 0) return [];
    const spec = `<specSet><propSet>${el('type', type)}${paths.map((p) => el('pathSet', p)).join('')}</propSet>` +
      objs.map((o) => `<objectSet>${moEl('obj', o)}</objectSet>`).join('') + '</specSet>';
    return this.retrieveSpec(spec, notFound);
  }

  /** Every object of `type` under `container` (a folder, compute resource or host), by a ContainerView. */
  async retrieveInContainer(container: MoRef, type: string, paths: string[]): Promise<ObjectContent[]> {
    const view = toMoRef((await this.call('CreateContainerView',
      moEl('_this', this.ref('viewManager')) + moEl('container', container) + el('type', type) + el('recursive', true))).returnval);
    if (!view) throw new VirError('VIR_ERR_INTERNAL_ERROR', 'CreateContainerView returned no view', 'VIR_FROM_ESX');
    try {
      const spec = `<specSet><propSet>${el('type', type)}${paths.map((p) => el('pathSet', p)).join('')}</propSet>` +
        `<objectSet>${moEl('obj', view)}<skip>true</skip><selectSet xsi:type="TraversalSpec">` +
        '<name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet>';
      return await this.retrieveSpec(spec);
    } finally {
      await this.call('DestroyView', moEl('_this', view)).catch(() => undefined);
    }
  }

  private async retrieveSpec(spec: string, notFound?: NotFoundAs): Promise<ObjectContent[]> {
    const res = await this.call('RetrieveProperties', moEl('_this', this.ref('propertyCollector')) + spec, notFound);
    return list(res.returnval).map((oc) => {
      const o = obj(oc)!;
      const props = new Map<string, XmlVal>();
      for (const p of list(o.propSet)) {
        const po = obj(p)!;
        props.set(text(po.name) ?? '', po.val);
      }
      return { obj: toMoRef(o.obj)!, props };
    });
  }

  /** Start a task method on `self`; returns the task. */
  async startTask(method: string, self: MoRef, args = '', notFound?: NotFoundAs): Promise<MoRef> {
    const res = await this.call(method, moEl('_this', self) + args, notFound);
    const task = toMoRef(res.returnval);
    if (!task) throw new VirError('VIR_ERR_INTERNAL_ERROR', `${method} returned no task`, 'VIR_FROM_ESX');
    return task;
  }

  /**
   * Poll `task` until it ends; `onProgress` sees each state. A task that ends
   * in error throws with `what` as libvirt words it ("Could not create snapshot").
   */
  async waitTask(task: MoRef, what: string, onProgress?: (p: TaskProgress) => void, notFound?: NotFoundAs): Promise<XmlVal> {
    for (;;) {
      const [info] = await this.retrieve('Task', [task], ['info']);
      const i = obj(info?.props.get('info'));
      const state = (text(i?.state) ?? 'queued') as TaskProgress['state'];
      const progress = i?.progress !== undefined ? Number(text(i.progress)) : undefined;
      onProgress?.({ task, state, progress });
      if (state === 'success') return i?.result;
      if (state === 'error') {
        const err = obj(i?.error);
        const type = obj(err?.fault)?.['@_type'];
        throw taskErrorToVirError(what, typeof type === 'string' ? type : 'unknown', text(err?.localizedMessage) ?? '', notFound);
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}
