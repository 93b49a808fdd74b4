/**
 * The capabilities of a back-end on a server that every host shares.
 * @module
 */
import type { BackendCapabilities } from '../contract.js';

/** `nativeTtl`: the server expires entries itself; `ttlResolutionMs`: its smallest TTL step. */
export function serverCapabilities(nativeTtl: boolean, ttlResolutionMs = 1): BackendCapabilities {
  return { nativeTtl, sharedAcrossProcesses: true, sharedAcrossHosts: true, ttlResolutionMs };
}
