import { printable } from '../lib/errors';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  // Names from files (models, tensors, directories) may hold controls that rewrite the terminal.
  out: (text) => process.stdout.write(printable(text)),
  err: (text) => process.stderr.write(printable(text)),
};

export interface OneArgCommand {
  verb: string;
  usage: string;
  /** The boolean flags it takes, e.g. `--json`. */
  flags: readonly string[];
  /** The options that take a value, e.g. `--triton-release` (`--x v` or `--x=v`). */
  values?: readonly string[];
  /** What the one positional argument is, for the error: `one model file`. */
  expected: string;
  /** A lone `-` is an argument, not an option. */
  dashIsArg?: boolean;
}

export interface OneArg {
  arg: string;
  /** The boolean flags given, as written (`--json`). */
  flags: Set<string>;
  /** The value options given, by name as written (`--triton-release`); the last one wins. */
  values: Record<string, string>;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/**
 * The one positional argument and the options given; or the exit code to stop with after
 * printing the usage (`--help`: 0, a usage error: 2). node:util's parseArgs splits the words;
 * it runs non-strict so that the errors are ours (`unknown option --x`), in the verb's words.
 */
export function parseOneArg(argv: string[], cmd: OneArgCommand, io: Io): OneArg | number {
  const options: Options = { help: { type: 'boolean', short: 'h' } };
  for (const flag of cmd.flags) options[flag.slice(2)] = { type: 'boolean' };
  for (const name of cmd.values ?? []) options[name.slice(2)] = { type: 'string' };
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const fail = (message: string): number => {
    io.err(`nx-triton ${cmd.verb}: ${message}\n${cmd.usage}\n`);
    return 2;
  };
  const out: OneArg = { arg: '', flags: new Set(), values: {} };
  const args: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (token.value === '-' && !cmd.dashIsArg) return fail('unknown option -');
      args.push(token.value);
      continue;
    }
    const known = Object.prototype.hasOwnProperty.call(options, token.name) ? options[token.name] : undefined;
    if (!known) return fail(`unknown option ${token.rawName}`);
    if (token.name === 'help') {
      io.out(`${cmd.usage}\n`);
      return 0;
    }
    if (known.type === 'boolean') {
      if (token.inlineValue) return fail(`${token.rawName} takes no value`);
      out.flags.add(token.rawName);
    } else {
      if (token.value === undefined) return fail(`${token.rawName} needs a value`);
      out.values[token.rawName] = token.value;
    }
  }
  if (args.length !== 1) return fail(`expected ${cmd.expected}, got ${args.length}`);
  out.arg = args[0];
  return out;
}

type VerbOptions = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;
type VerbArgs<O extends VerbOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP; allowPositionals: true; strict: true }>>;

/**
 * A verb's options (node:util's parseArgs, strict: an unknown option is a usage error) and its
 * positional arguments: exactly one when `expected` names it (`one repository directory`), else none.
 * Or the exit code to stop with once the usage is printed: 0 for `--help`, 2 for a usage error.
 */
export function parseVerb<const O extends VerbOptions>(
  argv: string[],
  cmd: { verb: string; usage: string; options: O; expected?: string },
  io: Io,
): { values: VerbArgs<O>['values']; positional: string } | number {
  const fail = (message: string): number => {
    io.err(`nx-triton ${cmd.verb}: ${message}\n${cmd.usage}\n`);
    return 2;
  };
  let parsed: VerbArgs<O>;
  try {
    parsed = parseArgs({ args: argv, options: { ...cmd.options, ...HELP }, allowPositionals: cmd.expected !== undefined, strict: true }) as VerbArgs<O>;
  } catch (err) {
    return fail((err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    io.out(`${cmd.usage}\n`);
    return 0;
  }
  const { positionals } = parsed;
  if (cmd.expected !== undefined && positionals.length !== 1) return fail(`expected ${cmd.expected}, got ${positionals.length}`);
  return { values: parsed.values, positional: positionals[0] ?? '' };
}
