/** `burr-edge/testing`: the conformance suite and the instruments it uses. */
export { conformanceCases, inDeltaMode, runConformanceSuite, type StorageMode, type ConformanceCase, type ConformanceSubject, type ConformanceTarget, type TestFramework } from './conformance.js';
export { instrumentFetch, countCalls, type Fault, type InstrumentedFetch } from './instrument.js';
export { ConformanceFailure, equal, jsonEquals, ok, rejectsWith } from './assert.js';
