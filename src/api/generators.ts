/**
 * `adzone/generators`: the fast-check arbitraries that draw MaxPool evaluation points at and near
 * ties (one public arbitrary a file in src/generators, each with a typed constraints object), and the
 * registry the CLI and the checks use. The generators module as it is: every name documented where
 * it is declared.
 */
export * from '../generators/index.ts';
