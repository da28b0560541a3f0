/**
 * The errors every stage throws for a known kind of trouble, and the exit code each maps to at the
 * command line: 0 ok, 1 a failing check (a regression, a defect asked to fail on), 2 unusable input
 * or environment. Anything else is a crash: one line, and the stack only with ADZONE_DEBUG=1.
 */

export const EXIT = { ok: 0, failed: 1, unusable: 2 } as const;

/** A bad command line: an unknown option, a value of the wrong form. Says what was wrong and how to fix it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A bad field of a stage's config, in the config's own words (`dataset`, not `--dataset`): library
 * callers see the field they set, and the command line names the option that set it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Unusable input or environment: a missing, unreadable or corrupt file, an output that cannot be written. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    message: string,
    /** The file or folder concerned, when there is one. */
    readonly path?: string,
  ) {
    super(message);
  }
}
