/** Entry point when running from source (bin/bench.js spawns `node --import tsx src/run.ts`). */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
