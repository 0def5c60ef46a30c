// The GGUF readers under libFuzzer and AddressSanitizer (native/fuzz/run.sh), bounded: a few thousand mutated
// fixture models, each read as a model, as an adapter and on both sides of a merge. Any abort, memory error,
// leak, allocation over 256 MiB or input slower than 10 s fails it. Needs clang's fuzzer runtime (.ci/run
// installs it); without it the test is skipped, saying which package to install.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli';
import { makeTempDir } from '../helpers/tempDir';

const scratch = makeTempDir('architect-gguf-fuzz-');
afterAll(() => scratch.remove());

/** Why the fuzzer cannot be built here, or undefined when it can. */
function missingFuzzer(): string | undefined {
  const probe = join(scratch.path, 'probe.cpp');
  writeFileSync(probe, 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }\n');
  // run.sh's compiler: FUZZ_CXX, else clang++.
  const cxx = process.env.FUZZ_CXX ?? 'clang++';
  const result = spawnSync(cxx, ['-fsanitize=fuzzer,address', probe, '-o', join(scratch.path, 'probe')], { encoding: 'utf8' });
  if (result.error) return `${cxx} is not installed (Debian: apt-get install clang libclang-rt-14-dev)`;
  if (result.status !== 0) return "clang's libFuzzer runtime is missing (Debian: apt-get install libclang-rt-14-dev)";
  return undefined;
}

const missing = missingFuzzer();
if (missing) console.warn(`tests/unit/gguf-fuzz.test.ts skipped: ${missing}`);

describe('the GGUF readers under libFuzzer', () => {
  it.skipIf(missing !== undefined)(`survive mutated fixture models${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const run = spawnSync('bash', [join(REPO, 'native/fuzz/run.sh')], {
      encoding: 'utf8',
      env: { ...process.env, FUZZ_RUNS: '3000', FUZZ_TIME: '90', FUZZ_ARTIFACTS: join(scratch.path, 'crashes') },
      timeout: 540_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output.slice(-4000)).toBe(0);
    expect(output).toContain('native/fuzz/run.sh: no crashes');
    const executed = Number(/stat::number_of_executed_units: (\d+)/.exec(output)?.[1] ?? 0);
    expect(executed, 'inputs the fuzzer ran').toBeGreaterThan(500);
  }, 600_000);
});
