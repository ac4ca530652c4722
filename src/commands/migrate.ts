import type { Config } from '../config.js';
import { openDatabase } from '../db/connect.js';
import { migrate, type MigrateResult } from '../db/migrate.js';

export async function runMigrate(config: Config, say: (line: string) => void, o: { citus?: { shards: number } } = {}): Promise<MigrateResult> {
  const db = await openDatabase(config, say, 1);
  try {
    const client = await db.pool.connect();
    try {
      return await migrate(client, o);
    } finally {
      client.release();
    }
  } finally {
    await db.close();
  }
}
