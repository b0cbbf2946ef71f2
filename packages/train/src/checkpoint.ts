/**
 * The on-disk checkpoint format and how it is published atomically.
 *
 *   <outDir>/checkpoints/
 *     latest.json              { "step": 100, "dir": "step-000100" }, written last
 *     step-000100/
 *       model.safetensors      weights; __metadata__ holds the model config and versions
 *       optimizer.safetensors  AdamW moments (m.<param>, v.<param>) and step
 *       trainer.json           step, rng, data-source cursors, schedule, options, losses
 *
 * A checkpoint is written into a hidden `.tmp-…` directory, renamed to `step-NNNNNN` once
 * every file is on disk, and only then does `latest.json` point at it (each file goes through
 * core's writeFileAtomic). A crash at any moment leaves `latest.json` naming the previous,
 * complete checkpoint, and `step-*` directories are always complete, so keep-last-K pruning
 * never counts a partial one.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, decodeSafetensors, encodeSafetensors, z } from '@weft/core';
import type { Module, Safetensors, Tensor } from '@weft/core';
import { saveSafetensorsFile, writeFileAtomic } from '@weft/core/node';

export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_FILE = 'trainer.json';
export const LATEST_FILE = 'latest.json';
const STEP_DIR = /^step-(\d+)$/;
const TMP_PREFIX = '.tmp-';

const trainerStateSchema = z.object({
  format: z.literal('weft.train/checkpoint'),
  version: z.literal(1),
  step: z.number().int().min(0),
  modelConfig: z.unknown(),
  rng: z.object({ seed: z.number(), stream: z.number(), counter: z.number() }),
  data: z.unknown(),
  evalData: z.unknown().optional(),
  schedule: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('constant'), lr: z.number(), warmupSteps: z.number() }),
    z.object({
      kind: z.literal('cosine'),
      lr: z.number(),
      warmupSteps: z.number(),
      decaySteps: z.number(),
      minLrRatio: z.number(),
    }),
  ]),
  options: z.record(z.string(), z.unknown()),
  firstLoss: z.number().nullable(),
  lastLoss: z.number().nullable(),
  evalLoss: z.number().nullable(),
  versions: z.record(z.string(), z.string()),
});

/** trainer.json: everything besides tensors that a resume needs. */
export type TrainerState = z.infer<typeof trainerStateSchema>;

export interface LoadedCheckpoint {
  dir: string;
  state: TrainerState;
  model: Safetensors;
  optimizer: Safetensors;
}

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}

async function tensorsToSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string>,
): Promise<Uint8Array> {
  const records: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const data = await t.data();
    records[name] = {
      shape: t.shape,
      data: t.dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data),
    };
  }
  return encodeSafetensors(records, metadata);
}

function stateToJson(state: TrainerState): string {
  try {
    return JSON.stringify(state, null, 2);
  } catch (cause) {
    throw new CheckpointError(
      `Cannot save the checkpoint for step ${state.step}: the trainer state is not JSON (${(cause as Error).message}). ` +
        "A data source's state() must return plain JSON (numbers, strings, arrays, objects).",
      { cause },
    );
  }
}

/** Move `fresh` to `target`, replacing a directory already there (e.g. from an abandoned run). */
async function publishDir(fresh: string, target: string): Promise<void> {
  if (await exists(target)) {
    const old = `${fresh}.replaced`;
    await fs.rename(target, old);
    await fs.rename(fresh, target);
    await fs.rm(old, { recursive: true, force: true });
  } else {
    await fs.rename(fresh, target);
  }
}

/**
 * Write a checkpoint under `checkpointsDir` and point latest.json at it. Returns its
 * directory. The caller keeps ownership of `optimizerState`.
 */
export async function writeCheckpoint(
  checkpointsDir: string,
  contents: {
    model: Module;
    modelMetadata: Record<string, string>;
    optimizerState: Record<string, Tensor>;
    state: TrainerState;
  },
): Promise<string> {
  const name = checkpointDirName(contents.state.step);
  const tmp = join(
    checkpointsDir,
    `${TMP_PREFIX}${name}-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const target = join(checkpointsDir, name);
  await fs.mkdir(tmp, { recursive: true });
  try {
    await saveSafetensorsFile(join(tmp, MODEL_FILE), contents.model, contents.modelMetadata);
    await writeFileAtomic(
      join(tmp, OPTIMIZER_FILE),
      await tensorsToSafetensors(contents.optimizerState, {
        'weft.step': String(contents.state.step),
      }),
    );
    await writeFileAtomic(join(tmp, TRAINER_FILE), stateToJson(contents.state));
    await publishDir(tmp, target);
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  await writeFileAtomic(
    join(checkpointsDir, LATEST_FILE),
    JSON.stringify({ step: contents.state.step, dir: name }) + '\n',
  );
  return target;
}

/** Remove all but the newest `keepLast` step directories (never the one latest.json names), and leftover temporaries. */
export async function pruneCheckpoints(
  checkpointsDir: string,
  keepLast: number,
): Promise<string[]> {
  const latest = await readLatestPointer(checkpointsDir);
  const entries = await fs.readdir(checkpointsDir);
  const steps = entries
    .map((e) => ({ name: e, match: STEP_DIR.exec(e) }))
    .filter((e) => e.match)
    .sort((a, b) => Number(b.match![1]) - Number(a.match![1]));
  const removed = steps
    .slice(keepLast)
    .map((e) => e.name)
    .filter((n) => n !== latest?.dir);
  const stale = entries.filter((e) => e.startsWith(TMP_PREFIX));
  for (const n of [...removed, ...stale])
    await fs.rm(join(checkpointsDir, n), { recursive: true, force: true });
  return removed;
}

async function readLatestPointer(
  checkpointsDir: string,
): Promise<{ step: number; dir: string } | undefined> {
  const path = join(checkpointsDir, LATEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let pointer: unknown;
  try {
    pointer = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError(
      `${path} is not valid JSON; it should look like {"step": 100, "dir": "step-000100"}`,
      { cause },
    );
  }
  const p = pointer as { step?: unknown; dir?: unknown };
  if (typeof p?.dir !== 'string' || !STEP_DIR.test(p.dir) || typeof p.step !== 'number') {
    throw new CheckpointError(
      `${path} should look like {"step": 100, "dir": "step-000100"}, got ${text.trim().slice(0, 80)}`,
    );
  }
  return { step: p.step, dir: p.dir };
}

/**
 * The checkpoint directory `path` refers to: a checkpoint directory itself (holding
 * trainer.json), a checkpoints directory (holding latest.json) or a run directory (holding
 * checkpoints/latest.json). Undefined when there is none.
 */
export async function findCheckpoint(path: string): Promise<string | undefined> {
  if (await exists(join(path, TRAINER_FILE))) return path;
  for (const dir of [path, join(path, 'checkpoints')]) {
    const latest = await readLatestPointer(dir);
    if (latest) return join(dir, latest.dir);
  }
  return undefined;
}

async function readFileOrFail(path: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (cause) {
    throw new CheckpointError(
      `Checkpoint file ${path} cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); the checkpoint is incomplete. Resume from another checkpoint or start afresh.`,
      { cause },
    );
  }
}

/** Read and check every file of the checkpoint `path` refers to (see findCheckpoint). */
export async function readCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const dir = await findCheckpoint(path);
  if (!dir) {
    throw new CheckpointError(
      `No checkpoint at ${path}: expected a checkpoint directory with ${TRAINER_FILE}, or a run directory with checkpoints/${LATEST_FILE}.`,
    );
  }
  const trainerPath = join(dir, TRAINER_FILE);
  let json: unknown;
  try {
    json = JSON.parse((await readFileOrFail(trainerPath)).toString('utf8'));
  } catch (cause) {
    if (CheckpointError.isInstance(cause)) throw cause;
    throw new CheckpointError(
      `Checkpoint file ${trainerPath} is not valid JSON: the checkpoint is corrupt. Resume from another checkpoint or start afresh.`,
      {
        cause,
      },
    );
  }
  const parsed = trainerStateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckpointError(
      `Checkpoint file ${trainerPath} is not a Weft trainer state: ${issue.path.join('.') || '(root)'}: ${issue.message}. The checkpoint is corrupt or from another tool.`,
    );
  }
  const modelPath = join(dir, MODEL_FILE);
  const optimizerPath = join(dir, OPTIMIZER_FILE);
  const model = decodeSafetensors(new Uint8Array(await readFileOrFail(modelPath)), {
    source: modelPath,
  });
  const optimizer = decodeSafetensors(new Uint8Array(await readFileOrFail(optimizerPath)), {
    source: optimizerPath,
  });
  return { dir, state: parsed.data, model, optimizer };
}
