import { describe, expect, it } from 'vitest';
import { BurrTable, postgresDialect, sqliteDialect } from '../../src/core/sql.js';

describe('BurrTable', () => {
  it("keeps Burr's DDL and index name, and adds the kit's indexes", () => {
    const { table, uniqueIndex } = new BurrTable(sqliteDialect, 'burr_state').createStatements();
    expect(table[0]).toContain('PRIMARY KEY (partition_key, app_id, sequence_id, position)');
    expect(table[1]).toBe('CREATE INDEX IF NOT EXISTS "burr_state_created_at_index" ON "burr_state" (created_at)');
    expect(uniqueIndex).toContain('"burr_state_key_index"');
  });

  it('gives each index of a 63-character table name a distinct name of at most 63 characters', () => {
    const names = (tableName: string) => {
      const { table, uniqueIndex } = new BurrTable(postgresDialect, tableName).createStatements();
      return [table[2]!, uniqueIndex].map((sql) => /INDEX IF NOT EXISTS "([^"]+)"/.exec(sql)![1]!);
    };
    const long = names('t'.repeat(63));
    expect(new Set(long).size).toBe(2);
    for (const name of long) expect(name.length).toBeLessThanOrEqual(63);
    expect(names(`${'t'.repeat(62)}u`)).not.toEqual(long);
  });

  it('binds every value and splices only the validated table name', () => {
    const table = new BurrTable(postgresDialect, 'burr_state');
    const statement = table.select({ partitionKey: "x' OR 1=1 --", appId: 'a', sequenceId: undefined });
    expect(statement.sql).not.toContain("x'");
    expect(statement.args).toEqual(["x' OR 1=1 --", 'a']);
    expect(() => new BurrTable(sqliteDialect, 'burr_state; DROP TABLE x')).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});
