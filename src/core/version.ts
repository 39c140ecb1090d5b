/** Rampart's own version, for reports and run manifests. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Same relative path from src/core (tsx) and dist/core (built).
export const RAMPART_VERSION: string = (require('../../package.json') as { version: string }).version;
