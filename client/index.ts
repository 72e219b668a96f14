/** virtsnap's client library: libvirt's C API names over JSON-RPC. */
export * from './api.js';
export * from './handles.js';
export { VirError, ErrorNumber } from '../protocol/errors.js';
export * from '../protocol/flags.js';
