// The GPU bench as a process of its own (tests/bench/device/run.sh runs one part per process): prints the
// figures as `npm run bench` does and appends them as JSON lines to $FIGURES_FILE.
import { appendFileSync } from 'node:fs';
import { gpuSuite } from '../gpu.bench';

const file = process.env.FIGURES_FILE;
await gpuSuite.run((figure) => {
  const value = Number.isInteger(figure.value) ? String(figure.value) : figure.value.toPrecision(4);
  console.log(`  ${figure.name.padEnd(44)} ${value.padStart(12)} ${figure.unit.padEnd(8)} ${figure.note ?? ''}`);
  if (file) appendFileSync(file, `${JSON.stringify(figure)}\n`);
});
