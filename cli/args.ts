export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export interface OneArgCommand {
  verb: string;
  usage: string;
  /** The boolean flags it takes, e.g. `--json`. */
  flags: readonly string[];
  /** What the one positional argument is, for the error: `one model file`. */
  expected: string;
  /** A lone `-` is an argument, not an option. */
  dashIsArg?: boolean;
}

/**
 * The one positional argument and the flags given; or the exit code to stop with after
 * printing the usage (`--help`: 0, a usage error: 2).
 */
export function parseOneArg(argv: string[], cmd: OneArgCommand, io: Io): { arg: string; flags: Set<string> } | number {
  const flags = new Set<string>();
  const args: string[] = [];
  for (const arg of argv) {
    if (cmd.flags.includes(arg)) flags.add(arg);
    else if (arg === '--help' || arg === '-h') {
      io.out(`${cmd.usage}\n`);
      return 0;
    } else if (arg.startsWith('-') && !(cmd.dashIsArg && arg === '-')) {
      io.err(`nx-triton ${cmd.verb}: unknown option ${arg}\n${cmd.usage}\n`);
      return 2;
    } else args.push(arg);
  }
  if (args.length !== 1) {
    io.err(`nx-triton ${cmd.verb}: expected ${cmd.expected}, got ${args.length}\n${cmd.usage}\n`);
    return 2;
  }
  return { arg: args[0], flags };
}
