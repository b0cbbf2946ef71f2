/**
 * metrics.jsonl: one JSON object per line, one line per logged step or evaluation.
 * Appended as training goes; on resume, lines after the checkpoint's step are dropped so the
 * file describes exactly one history.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@weft/core/node';

export interface MetricsRecord {
  step: number;
  /** Training loss of this step (absent when the step was skipped). */
  loss?: number;
  /** Learning rate used by this step. */
  lr?: number;
  /** Global gradient norm before clipping. */
  gradNorm?: number;
  /** Target tokens per second since the previous line. */
  tokensPerSecond?: number;
  /** Mean evaluation loss, when an evaluation ran at this step. */
  evalLoss?: number;
  /** Why the step was skipped (non-finite loss or gradient norm). */
  skipped?: string;
}

export class MetricsLog {
  constructor(readonly path: string) {}

  async append(record: MetricsRecord): Promise<void> {
    await fs.mkdir(dirname(this.path), { recursive: true });
    await fs.appendFile(this.path, JSON.stringify(record) + '\n');
  }

  /** Every record in the file; a line cut short by a crash is ignored. */
  async read(): Promise<MetricsRecord[]> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch {
      return [];
    }
    const records: MetricsRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as MetricsRecord);
      } catch {
        // A partial last line from an interrupted append.
      }
    }
    return records;
  }

  /** Keep only the records up to and including `step`. */
  async truncateAfter(step: number): Promise<void> {
    const kept = (await this.read()).filter((r) => r.step <= step);
    await writeFileAtomic(this.path, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}
