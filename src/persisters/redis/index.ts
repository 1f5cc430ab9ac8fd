/**
 * `burr-edge/redis`: the Redis persister over Upstash REST, its key layout and its scripts.
 */
export {
  RedisPersister,
  BurrKeyCollisionError,
  UPSTASH_MAX_REQUEST_BYTES,
  type RedisEnv,
  type RedisFromValues,
  type RedisPersisterOptions,
  type UpstashRedisLike,
  type UpstashRetryConfig,
} from './persister.js';
export { escapeKeyPart, unescapeKeyPart, redisKeyLayout, type RedisKeyLayout } from './keys.js';
export { LUA_COMMON, READ_SCRIPT, WRITE_SCRIPT } from './scripts.js';
