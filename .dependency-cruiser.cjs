/**
 * The layer rule, generated from src/layers.json (the one place the order is declared): a folder
 * under src/ may import from its own level and the levels before it, never from a later one.
 * Type-only imports count too (tsPreCompilationDeps), since they couple the layers just the same.
 */
const layers = require('./src/layers.json').map((l) => (Array.isArray(l) ? l : [l]));
const alt = (names) => `^src/(${names.join('|')})/`;
const all = layers.flat();

const forbidden = layers.slice(0, -1).map((level, i) => ({
  name: `layer-${level.join('+')}`,
  severity: 'error',
  comment: `${level.join(', ')} may not import from later layers (src/layers.json)`,
  from: { path: alt(level) },
  to: { path: alt(layers.slice(i + 1).flat()) },
}));
forbidden.push({
  name: 'undeclared-folder',
  severity: 'error',
  comment: 'every folder under src/ is declared in src/layers.json',
  from: { path: '^src/[^/]+/', pathNot: alt(all) },
  to: {},
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|\\.as\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
