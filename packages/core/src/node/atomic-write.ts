/**
 * Atomic file writes: write to a temp file in the same directory, fsync it, rename over the
 * target, fsync the directory. A crash leaves either the old file or the new one, never half.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fs.rename(tmp, path);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
  try {
    const d = await fs.open(dir, 'r');
    await d.sync();
    await d.close();
  } catch {
    // Some filesystems do not allow fsync on directories; the rename is still atomic.
  }
}
