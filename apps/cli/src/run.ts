/** Entry point for running from source (bin/weft.js without a build): `main` with process.argv. */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
