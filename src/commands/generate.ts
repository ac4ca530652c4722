import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatTsv, generateMatrix, type GenerateOptions } from '../input/generate.js';

export async function runGenerate(o: GenerateOptions & { out: string }): Promise<void> {
  await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
  await writeFile(o.out, formatTsv(generateMatrix(o)));
}
