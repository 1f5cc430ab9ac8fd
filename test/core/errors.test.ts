import { describe, expect, it } from 'vitest';
import { BackendError, InMemoryPersister, InvalidArgumentError, PersisterError, StateAlreadyExistsError, isPersisterError } from '../../src/index.js';
import { redactSecrets } from '../../src/core/errors.js';
import { defaultErrorKind } from '../../src/core/base.js';
import { jsonTextHasNul, validateIdentifier, validateSequenceId } from '../../src/core/validation.js';

describe('errors', () => {
  it('carry a stable code, the backend, the operation and the target, never a secret', () => {
    const error = new StateAlreadyExistsError({ partitionKey: 'p', appId: 'a', sequenceId: 3 }, { backend: 'libsql', operation: 'save', target: 'table burr_state' });
    expect(error).toBeInstanceOf(PersisterError);
    expect(error.code).toBe('ALREADY_EXISTS');
    expect(error.message).toBe('[burr-edge] libsql save table burr_state: a different state is already saved for partitionKey="p", appId="a", sequenceId=3; nothing was overwritten (load the latest step and save the next sequence id, or fork into a new appId)');
    expect(isPersisterError(error)).toBe(true);
    expect(isPersisterError(new Error('x'))).toBe(false);
  });

  it('are recognised across copies of the package by their brand', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('burr-edge.PersisterError')]: true });
    expect(isPersisterError(foreign)).toBe(true);
  });

  it('BackendError keeps the driver error as cause', () => {
    const cause = new Error('driver');
    const error = new BackendError('failed', { retryable: true, cause });
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(true);
  });
});

describe('defaultErrorKind', () => {
  it.each([
    [new TypeError('fetch failed'), 'retryable'],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'retryable'],
    [Object.assign(new Error('x'), { code: 'SQLITE_BUSY' }), 'retryable'],
    [Object.assign(new Error('x'), { code: '40001' }), 'retryable'],
    [new Error('wrapped', { cause: Object.assign(new Error('http'), { status: 503 }) }), 'retryable'],
    [new Error('Connection terminated unexpectedly'), 'retryable'], // pg, when a pooled connection is killed
    [Object.assign(new Error('x'), { code: '57P01' }), 'retryable'], // admin_shutdown
    [Object.assign(new Error('x'), { code: '57P04' }), 'fatal'], // database_dropped
    [Object.assign(new Error('x'), { status: 401 }), 'fatal'],
    [Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' }), 'fatal'],
    [new Error('syntax error'), 'fatal'],
  ])('%s → %s', (error, kind) => {
    expect(defaultErrorKind(error)).toBe(kind);
  });
});

describe('validation', () => {
  it('identifiers', () => {
    expect(validateIdentifier('tableName', 'burr_state')).toBe('burr_state');
    for (const bad of ['a b', 'a"b', "a'b", 'a;b', '9a', '', 'a'.repeat(64), 'é']) {
      expect(() => validateIdentifier('tableName', bad)).toThrowError(InvalidArgumentError);
    }
  });

  it('sequence ids', () => {
    expect(validateSequenceId(0)).toBe(0);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, Infinity, '1']) expect(() => validateSequenceId(bad)).toThrowError(InvalidArgumentError);
  });

  it('finds an encoded NUL in JSON text, but not an escaped backslash before u0000', () => {
    expect(jsonTextHasNul(JSON.stringify({ a: 'x\u0000y' }))).toBe(true);
    expect(jsonTextHasNul(JSON.stringify({ a: 'x\\u0000y' }))).toBe(false);
    expect(jsonTextHasNul(JSON.stringify({ a: 'x\\\u0000y' }))).toBe(true);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['connection string: postgres://app:s3cr/et@db.example.com/neondb', 'connection string: postgres://***@db.example.com/neondb'],
    ['libsql://db.turso.io?authToken=eyJhbGciOi.x.y failed', 'libsql://db.turso.io?authToken=*** failed'],
    ['Authorization: Bearer AXk1ZTk2.abc', 'Authorization: Bearer ***'],
    ['redis://default:pw@host:6379 refused', 'redis://***@host:6379 refused'],
    ['no secret here: relation "burr_state" does not exist', 'no secret here: relation "burr_state" does not exist'],
  ])('%s', (text, redacted) => {
    expect(redactSecrets(text)).toBe(redacted);
  });

  it('a driver error that quotes a connection string does not leak its password into ours', async () => {
    class LeakyPersister extends InMemoryPersister {
      protected override async storageInitialize(): Promise<void> {
        throw new Error('Database connection string provided to neon() is not a valid URL (connection string: postgres://app:s3cr/et@db.example.com/neondb)');
      }
    }
    const error = (await new LeakyPersister().initialize().then(() => undefined, (e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toContain('postgres://***@db.example.com/neondb');
    expect(error.message).not.toContain('s3cr');
  });
});
