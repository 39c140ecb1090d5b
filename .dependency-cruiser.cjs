// Layer rules for src/ (docs/ARCHITECTURE.md): a folder imports only its own layer or lower ones,
// and no module takes part in an import cycle. Run by `npm run lint`; there are no exceptions.
/** Bottom to top. */
const LAYERS = [
  'core',
  'engine',
  'data',
  'models',
  'threats',
  'attacks',
  'defenses',
  'training',
  'execution',
  'eval',
  'governance',
  'report',
  'pipeline',
  'serve',
  'console',
  'cli',
];

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `src/${layer} may import only ${LAYERS.slice(0, i + 1).join(', ')} (the layer order in docs/ARCHITECTURE.md).`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles make layers meaningless: move the shared part into a module both can import.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unknown-layer',
      comment: 'Every folder under src/ is a layer named in .dependency-cruiser.cjs and docs/ARCHITECTURE.md.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${LAYERS.join('|')})/` },
      to: {},
    },
    {
      name: 'root-imports-nothing-internal-but-layers',
      comment: 'Lower layers never import the package entry points in src/*.ts.',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
