// Builds the native trainer (npm install and `npm run build:native`): one addon per ggml library
// variant that node-llama-cpp installed here, each linked to that variant's libraries, into native/out/<variant>/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const nlcDir = join(root, 'node_modules', 'node-llama-cpp');
const llamaDir = join(nlcDir, 'llama');
const include = join(llamaDir, 'llama.cpp', 'ggml', 'include');
const args = process.argv.slice(2);
// --optional (npm install): a machine that cannot build the trainer still gets the rest of the app.
const optional = args.includes('--optional');
const only = args.filter((a) => a !== '--optional'); // variant names: cpu, cuda, vulkan, metal

function fail(message) {
  console.error(`\narchitect native build: ${message}\n`);
  if (optional) {
    console.error('The app works without it; training and `architect perplexity` need it: fix the above, then run `npm run build:native`.\n');
    process.exit(0);
  }
  process.exit(1);
}

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { cwd: here, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  return result.status === 0;
}

// 1. ggml headers: unpacked offline from the llama.cpp bundle node-llama-cpp ships.
if (!existsSync(join(include, 'ggml.h'))) {
  console.log('architect native build: unpacking the llama.cpp source that node-llama-cpp ships (offline)…');
  const cli = join(nlcDir, 'dist', 'cli', 'cli.js');
  if (!run(process.execPath, [cli, 'source', 'download', '--skipBuild']) || !existsSync(join(include, 'ggml.h'))) {
    fail(`the ggml headers are missing (${include}) and could not be unpacked from node-llama-cpp's bundle.`);
  }
}

// 2. A C++ compiler.
const cxx = process.env.CXX || (process.platform === 'win32' ? null : 'c++');
if (process.platform === 'win32') {
  fail('building the trainer on Windows is not supported yet (the prebuilt ggml libraries ship no import libraries).');
}
if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) {
  fail(
    `no C++ compiler found ('${cxx}'). Install one and run \`npm run build:native\`:\n` +
      '  Debian/Ubuntu: sudo apt-get install build-essential python3\n' +
      '  Fedora: sudo dnf install gcc-c++ make python3\n' +
      '  macOS: xcode-select --install',
  );
}

// 3. The variants: @node-llama-cpp/<platform>-<arch>[-gpu]/bins/<name>/ holding libggml-base.
const prefix = `${process.platform === 'darwin' ? 'mac' : process.platform}-${process.arch}`;
const scope = join(root, 'node_modules', '@node-llama-cpp');
const ext = process.platform === 'darwin' ? '.dylib' : '.so';
const variants = [];
for (const pkg of existsSync(scope) ? readdirSync(scope) : []) {
  if (pkg !== prefix && !pkg.startsWith(`${prefix}-`)) continue;
  const bins = join(scope, pkg, 'bins');
  for (const name of existsSync(bins) ? readdirSync(bins) : []) {
    const dir = join(bins, name);
    const files = readdirSync(dir);
    const lib = files.find((f) => f.startsWith('libggml.') && f.endsWith(ext));
    if (!files.includes(`libggml-base${ext}`) || !lib) continue;
    const variant = name === prefix ? 'cpu' : name.slice(prefix.length + 1);
    if (!only.length || only.includes(variant)) variants.push({ variant, dir, lib });
  }
}
if (!variants.some((v) => v.variant === 'cpu') && !only.length) {
  fail(`node-llama-cpp's prebuilt ggml libraries for ${prefix} were not found under ${scope}. Reinstall with \`npm install\`.`);
}

// 4. Build each variant.
const gyp = process.env.npm_config_node_gyp || join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (!existsSync(gyp)) fail(`node-gyp was not found (${gyp}); run this through npm: npm run build:native`);
for (const { variant, dir, lib } of variants) {
  const out = join(here, 'out', variant);
  // The libraries as seen from native/out/<variant>/: the same in this tree, a copy of it and an installed app
  // (electron-builder keeps node_modules/ and native/out/ side by side), unlike the absolute path of this machine.
  const fromOut = relative(out, dir).split(sep).join('/');
  console.log(`architect native build: ${variant} (linked to ${dir}, found at run time as <addon folder>/${fromOut})`);
  const env = { ARCHITECT_GGML_INCLUDE: include, ARCHITECT_GGML_LIB_DIR: dir, ARCHITECT_GGML_LIB: lib, ARCHITECT_GGML_RPATH: fromOut };
  if (!run(process.execPath, [gyp, 'rebuild', '--jobs', 'max', '--loglevel', 'warn'], env)) {
    fail(`compiling the ${variant} trainer failed (see the compiler output above).`);
  }
  mkdirSync(out, { recursive: true });
  // A new file renamed into place: a process that has the old one loaded keeps its mapping intact.
  copyFileSync(join(here, 'build', 'Release', 'architect_trainer.node'), join(out, 'architect_trainer.node.tmp'));
  renameSync(join(out, 'architect_trainer.node.tmp'), join(out, 'architect_trainer.node'));
  // The loader resolves libDir against the addon's own folder and passes it to ggml to find the backend
  // libraries (CPU variants, CUDA…); the dynamic linker finds libggml itself by the same relative rpath.
  writeFileSync(join(out, 'build.json'), `${JSON.stringify({ variant, libDir: fromOut, lib }, null, 2)}\n`);
}
rmSync(join(here, 'build'), { recursive: true, force: true });
console.log(`architect native build: done (${variants.map((v) => v.variant).join(', ')}) in native/out/`);
