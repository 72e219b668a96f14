/**
 * Where the driver's VMs live: an ESX host's whole inventory, or for vCenter
 * the compute resource (or one host of it) the vpx:// path names, found as
 * libvirt's esx driver finds it: datacenter, then compute resource, then host.
 */
import { VirError } from '../../protocol/errors.js';
import { text, type MoRef } from './soap-envelope.js';
import type { EsxUri } from './esx-uri.js';
import type { ViClient } from './vi-client.js';

export interface ViVm {
  ref: MoRef;
  name: string;
  uuid: string;
  power: string;
}

/** The managed object whose VMs this connection serves. */
export async function findContainer(vi: ViClient, uri: EsxUri): Promise<MoRef> {
  if (uri.scheme === 'esx') {
    if (vi.apiType !== 'HostAgent') {
      throw new VirError('VIR_ERR_INVALID_ARG', `'${uri.host}' is a ${vi.apiType || 'non-ESX'} server, not an ESX host: use a vpx:// URI`, 'VIR_FROM_ESX');
    }
    return vi.ref('rootFolder');
  }
  if (vi.apiType !== 'VirtualCenter') {
    throw new VirError('VIR_ERR_INVALID_ARG', `'${uri.host}' is not a vCenter server (${vi.apiType}): use an esx:// URI`, 'VIR_FROM_ESX');
  }
  const parts = uri.path.split('/').filter((p) => p !== '');
  // The datacenter may sit in folders: the shortest prefix that is a Datacenter.
  for (let i = 1; i < parts.length; i++) {
    const dc = parts.slice(0, i).join('/');
    const dcRef = await vi.findByInventoryPath(dc);
    if (dcRef?.type !== 'Datacenter') continue;
    const target = await vi.findByInventoryPath(`${dc}/host/${parts.slice(i).join('/')}`);
    if (target && ['HostSystem', 'ComputeResource', 'ClusterComputeResource'].includes(target.type)) return target;
    throw new VirError('VIR_ERR_INVALID_ARG', `Could not find compute resource or host specified in '${uri.path}'`, 'VIR_FROM_ESX');
  }
  throw new VirError('VIR_ERR_INVALID_ARG', `Could not find datacenter specified in '${uri.path}'`, 'VIR_FROM_ESX');
}

export async function listVms(vi: ViClient, container: MoRef): Promise<ViVm[]> {
  const found = await vi.retrieveInContainer(container, 'VirtualMachine', ['name', 'config.uuid', 'runtime.powerState']);
  return found.map((oc) => ({
    ref: oc.obj,
    name: text(oc.props.get('name')) ?? '',
    uuid: (text(oc.props.get('config.uuid')) ?? '').toLowerCase(),
    power: text(oc.props.get('runtime.powerState')) ?? 'poweredOff',
  })).filter((vm) => vm.uuid !== '');
}
