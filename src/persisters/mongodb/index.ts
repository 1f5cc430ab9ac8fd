/**
 * `burr-edge/mongodb`: Burr's MongoDB persister over the official driver or over `fetch` to a
 * Data API endpoint (burr-edge's gateway).
 */
export { MongoDBPersister, type MongoClientLike, type MongoDBExpiryOptions, type MongoDBFromHttp, type MongoDBFromValues, type MongoDBPersisterOptions } from './persister.js';
export { DataApiCollection, DataApiError, type DataApiOptions } from './data-api.js';
export { BURR_INDEXES, EXPIRE_AT_INDEX, FOLLOWS_INDEX, KEY_INDEX, PARTITION_CREATED_AT_INDEX, type BurrDocument, type BurrFilter, type FindOptions, type IndexSpec, type MongoCollectionLike, type PipelineStage } from './collection.js';
