/**
 * From an error to what the user sees and the exit code: one line saying what was wrong (and, for
 * a bad command line, where to read the usage), 2 for unusable input or environment, 1 for a crash.
 * A stack trace only with ADZONE_DEBUG=1: a tool's users need the message, its developers the stack.
 */
import { ConfigError, EXIT, InputError, UsageError } from '../util/errors.ts';

/** Errors that mean "the input or the environment cannot be used", by name, for those defined in later layers. */
const UNUSABLE_NAMES = new Set([
  'SchemaError',
  'GateInputError',
  'RunLockedError',
  'CheckpointError',
  'GridError',
  'NetworkSpecError',
  'ProblemError',
]);

export function isUnusable(e: unknown): boolean {
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof InputError) return true;
  const err = e as Error & { code?: string };
  if (typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) return true;
  if (UNUSABLE_NAMES.has(err?.name) || UNUSABLE_NAMES.has(err?.constructor?.name)) return true;
  return /^unknown (generator|backend|precision|Jacobian)/i.test(err?.message ?? '');
}

/** Print the error for `cmd` and return the exit code. */
export function reportError(e: unknown, cmd: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const debug = env.ADZONE_DEBUG === '1';
  const stack = debug && err.stack ? `\n${err.stack}` : '';
  if (isUnusable(e)) {
    const usage = e instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const field = e instanceof ConfigError && !err.message.startsWith(e.field) ? `${e.field}: ` : '';
    const hint = usage ? `\nRun 'adzone help${cmd && cmd !== 'help' ? ` ${cmd}` : ''}' for usage.` : '';
    process.stderr.write(`adzone: ${field}${err.message}${hint}${stack}\n`);
    return EXIT.unusable;
  }
  const more = debug ? stack : '\n(an internal error: run again with ADZONE_DEBUG=1 for the stack trace, and report it)';
  process.stderr.write(`adzone: ${err.message}${more}\n`);
  return EXIT.failed;
}
