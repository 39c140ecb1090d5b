/**
 * Runs the sensor signal-obfuscation scenario end to end and prints baseline vs hardened:
 *   npm run bench:sensor            (or: npx tsx examples/sensor/run.ts [epochs] [rareShare] [mixRatio] [seed])
 */
import { initEngine } from '../../src/engine/backend.js';
import { runSensorScenario, type ModelNumbers } from './scenario.js';

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

function row(name: string, m: ModelNumbers): string {
  const robust = Object.entries(m.robustRecall)
    .map(([id, v]) => `${id} ${pct(v)}`)
    .join(', ');
  return (
    `${name}: clean acc ${pct(m.cleanAccuracy)}, balanced ${pct(m.balancedAccuracy)}, recall normal ${pct(m.recall[0])} / anomalous ${pct(m.recall[1])}; ` +
    `anomalies detected under attack: ${robust}; robust balanced ${pct(m.robustBalancedAccuracy)}; constraint violations ${m.constraintViolations}`
  );
}

await initEngine();
const epochs = Number(process.argv[2] ?? 3);
const rareShare = Number(process.argv[3] ?? 0.1);
const mixRatio = Number(process.argv[4] ?? 1);
const seed = Number(process.argv[5] ?? 1);
const result = await runSensorScenario({ epochs, rareShare, mixRatio, seed, onLine: (line) => console.log(line) });
console.log(row('baseline', result.baseline));
console.log(row('hardened', result.hardened));
const cleanDrop = result.baseline.cleanAccuracy - result.hardened.cleanAccuracy;
const lift = (result.hardened.robustRecall['worst-case'] as number) - (result.baseline.robustRecall['worst-case'] as number);
console.log(
  `clean accuracy drop ${(100 * cleanDrop).toFixed(2)} points (target <= 2); worst-case robust lift ${(100 * lift).toFixed(1)} points (target >= 30)`,
);
