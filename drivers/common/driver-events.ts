/** A driver's lifecycle and snapshot events, as subscribers receive them. */
import { EventEmitter } from 'node:events';
import type { DriverEventMap } from '../driver.js';
import type { DomainObj } from './domain-obj.js';

/** Publishes an event now, or later (the durable store holds events back until their commits are durable). */
export type Publisher = (uuid: string, emit: () => void) => void;

export class DriverEvents {
  readonly emitter = new EventEmitter<DriverEventMap>();
  /** Replaced by a store-backed driver with its durable store's publisher. */
  publish: Publisher = (_uuid, emit) => emit();

  lifecycle(dom: DomainObj, event: number, detail: number): void {
    const e = { domain: { name: dom.name, uuid: dom.uuid }, event, detail };
    this.publish(dom.uuid, () => this.emitter.emit('lifecycle', e));
  }

  snapshot(dom: DomainObj, kind: string, snapshot: string): void {
    const e = { domain: { name: dom.name, uuid: dom.uuid }, kind, snapshot };
    this.publish(dom.uuid, () => this.emitter.emit('snapshot', e));
  }
}
