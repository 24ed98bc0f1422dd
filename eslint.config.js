// Lint: type-aware rules, no floating promises, no import cycles, and a pure core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const impure = 'src/core is pure: no I/O, no clock, no randomness (inject them).';

// The layers (ARCHITECTURE.md): the CLI imports the node; the node imports the server's app
// builder, the cluster parts and the runtime; the cluster parts (src/cluster) import the
// runtime and the journal; the server imports the runtime; the core imports only itself.
const aboveServer = 'src/server imports neither the node start-up (src/node), the cluster parts (src/cluster) nor the CLI (src/cli): they sit above it.';
const aboveRuntime = 'src/runtime imports neither src/node, src/cluster, src/cli nor src/server: they sit above it.';
const aboveCluster = 'src/cluster imports neither src/node, src/cli nor src/server: they sit above it.';
const aboveNode = 'src/node imports nothing of the CLI (src/cli): the CLI sits above it.';
const layer = (dirs, message) => ({ group: dirs.flatMap((d) => [`../${d}`, `../${d}/*`, `../../${d}`, `../../${d}/*`]), message });

export default tseslint.config(
  { ignores: ['scratch/**', 'dist/**', 'node_modules/**', 'coverage/**', 'examples/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', 'web/**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: impure },
          { group: ['fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'process', 'timers'], message: impure },
          { group: ['../*', '!../core', '!../core/*'], message: 'src/core imports nothing of ours but itself.' },
        ],
      }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: impure },
        { object: 'Math', property: 'random', message: impure },
        { object: 'performance', property: 'now', message: impure },
        { object: 'crypto', property: 'randomUUID', message: impure },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: impure },
      ],
      'no-restricted-globals': ['error',
        { name: 'process', message: impure },
        { name: 'setTimeout', message: impure },
        { name: 'setInterval', message: impure },
        { name: 'setImmediate', message: impure },
        { name: 'fetch', message: impure },
      ],
    },
  },
  {
    // Modules in folders below src/core (src/core/expr): `..` is still the core.
    files: ['src/core/*/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: impure },
          { group: ['fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'process', 'timers'], message: impure },
          { group: ['../../*', '!../../core', '!../../core/*'], message: 'src/core imports nothing of ours but itself.' },
        ],
      }],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [layer(['node', 'cluster', 'cli'], aboveServer)] }] },
  },
  {
    files: ['src/runtime/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [layer(['node', 'cluster', 'cli', 'server'], aboveRuntime)] }] },
  },
  {
    files: ['src/cluster/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [layer(['node', 'cli', 'server'], aboveCluster)] }] },
  },
  {
    files: ['src/node/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [layer(['cli'], aboveNode)] }] },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
);
