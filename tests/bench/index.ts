// `npm run bench [suite …]`: runs the benchmark suites, prints a table, writes bench-results.json
// (figure name → value and unit) so figures can be compared across commits. Never part of `npm test`.
import { writeFileSync } from 'node:fs';
import { cliSuite } from './cli.bench';
import { datasetsSuite } from './datasets.bench';
import { estimateSuite } from './estimate.bench';
import { exportSuite } from './export.bench';
import { feedbackSuite } from './feedback.bench';
import type { BenchSuite, Figure } from './figures';
import { forwardSuite } from './forward.bench';
import { generateSuite } from './generate.bench';
import { gpuSuite } from './gpu.bench';
import { hostSuite } from './host.bench';
import { learningSuite } from './learning.bench';
import { rpcSuite } from './rpc.bench';
import { supervisorSuite } from './supervisor.bench';
import { trainSuite } from './train.bench';

const SUITES: BenchSuite[] = [rpcSuite, forwardSuite, trainSuite, estimateSuite, generateSuite, feedbackSuite, datasetsSuite, supervisorSuite, exportSuite, hostSuite, cliSuite];
/** Run only when named: `npm run bench gpu` needs a GPU and tens of GB of disk, `npm run bench learning` takes minutes. */
const ON_REQUEST: BenchSuite[] = [gpuSuite, learningSuite];

async function main(argv: string[]): Promise<number> {
  const all = [...SUITES, ...ON_REQUEST];
  const unknown = argv.filter((a) => !all.some((s) => s.name === a));
  if (unknown.length) {
    console.error(`bench: unknown suite ${unknown.join(', ')}; suites: ${all.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const chosen = argv.length ? all.filter((s) => argv.includes(s.name)) : SUITES;
  const figures: Figure[] = [];
  for (const suite of chosen) {
    console.log(`\n== ${suite.name}`);
    await suite.run((figure) => {
      figures.push(figure);
      const value = Number.isInteger(figure.value) ? String(figure.value) : figure.value.toPrecision(4);
      console.log(`  ${figure.name.padEnd(44)} ${value.padStart(12)} ${figure.unit.padEnd(8)} ${figure.note ?? ''}`);
    });
  }
  const results = Object.fromEntries(figures.map((f) => [f.name, { value: f.value, unit: f.unit, ...(f.note ? { note: f.note } : {}) }]));
  writeFileSync('bench-results.json', `${JSON.stringify({ measuredAt: new Date().toISOString(), figures: results }, null, 2)}\n`);
  console.log(`\nWrote ${figures.length} figures to bench-results.json`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
