/**
 * The esx bench's floor: the SOAP round trips each operation needs, made the
 * way a correct driver must make them, without anything of virtsnapd around
 * them. create = the tree and the power state (the duplicate-name check
 * libvirt's esx driver makes, and whether a memory snapshot is possible) +
 * CreateSnapshot_Task + polling; revert and delete = the tree (the snapshot by
 * name) + the task + polling; read = the tree. Used in the bench process (raw
 * SOAP) and in the bare relay process (bench/esx-relay.ts).
 */
import { el, text, type MoRef } from '../drivers/esx/soap-envelope.js';
import type { ViClient } from '../drivers/esx/vi-client.js';
import { ViSnapshotTree } from '../drivers/esx/vi-snapshots.js';

export type EsxOp = 'create' | 'revert' | 'delete' | 'read';

export function rawEsxOps(vi: ViClient, vm: MoRef): Record<EsxOp, (name: string) => Promise<unknown>> {
  const read = async (paths: string[]) => (await vi.retrieve('VirtualMachine', [vm], paths))[0]?.props;
  const tree = async () => new ViSnapshotTree((await read(['snapshot']))?.get('snapshot'));
  return {
    async create(name) {
      const props = await read(['snapshot', 'runtime.powerState']);
      if (new ViSnapshotTree(props?.get('snapshot')).named(name).length > 0) throw new Error(`duplicate '${name}'`);
      const memory = text(props?.get('runtime.powerState')) === 'poweredOn';
      await vi.waitTask(await vi.startTask('CreateSnapshot_Task', vm,
        el('name', name) + el('description', '') + el('memory', memory) + el('quiesce', false)), 'create');
    },
    async revert(name) {
      const s = (await tree()).get(name);
      await vi.waitTask(await vi.startTask('RevertToSnapshot_Task', s.ref, el('suppressPowerOn', false)), 'revert');
    },
    async delete(name) {
      const s = (await tree()).get(name);
      await vi.waitTask(await vi.startTask('RemoveSnapshot_Task', s.ref, el('removeChildren', false) + el('consolidate', true)), 'delete');
    },
    read: () => tree(),
  };
}
