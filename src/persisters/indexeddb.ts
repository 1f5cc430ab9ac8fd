/** The in-repo path the playground and older imports use; the package exports `indexeddb/index.ts` as `burr-edge/indexeddb`. */
export * from './indexeddb/index.js';
