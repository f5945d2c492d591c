import { describe, expect, it, vi } from 'vitest';
import { parseOneArg, parseVerb, type OneArgCommand } from './args';
import { run as fingerprint } from './fingerprint';

const CMD: OneArgCommand = { verb: 'demo', usage: 'usage: nx-triton demo <dir> [--json] [--release R]', flags: ['--json'], values: ['--release'], expected: 'one directory' };

function parse(argv: string[], cmd: OneArgCommand = CMD) {
  let out = '';
  let err = '';
  const result = parseOneArg(argv, cmd, { out: (t) => (out += t), err: (t) => (err += t) });
  return { result, out, err };
}

describe('parseOneArg', () => {
  it('takes the argument, flags and value options in any order, `--x v` or `--x=v`', () => {
    expect(parse(['--json', 'repo', '--release', '24.08']).result).toEqual({ arg: 'repo', flags: new Set(['--json']), values: { '--release': '24.08' } });
    expect(parse(['--release=24.01', 'repo']).result).toEqual({ arg: 'repo', flags: new Set(), values: { '--release': '24.01' } });
    // after `--`, a word that starts with a dash is the argument
    expect(parse(['--', '-odd-name']).result).toEqual({ arg: '-odd-name', flags: new Set(), values: {} });
  });

  it('prints the usage for --help and -h (exit 0)', () => {
    for (const help of ['--help', '-h']) expect(parse(['repo', help])).toEqual({ result: 0, out: `${CMD.usage}\n`, err: '' });
  });

  it('says what is wrong, then the usage (exit 2)', () => {
    const cases: Array<[string[], string]> = [
      [['repo', '--strict'], 'unknown option --strict'],
      [['repo', '-x'], 'unknown option -x'],
      [['repo', '-'], 'unknown option -'],
      [['repo', '--json=yes'], '--json takes no value'],
      [['repo', '--release'], '--release needs a value'],
      [[], 'expected one directory, got 0'],
      [['a', 'b'], 'expected one directory, got 2'],
    ];
    for (const [argv, message] of cases) {
      expect(parse(argv), argv.join(' ')).toEqual({ result: 2, out: '', err: `nx-triton demo: ${message}\n${CMD.usage}\n` });
    }
    expect(parse(['-'], { ...CMD, dashIsArg: true }).result).toEqual({ arg: '-', flags: new Set(), values: {} });
  });
});

describe('nx-triton fingerprint arguments', () => {
  it('refuses what it does not take, naming the word as given (exit 1)', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      for (const argv of [['--bogus'], ['--builders-of'], ['--json=1'], ['extra'], ['--', 'x'], ['-j']]) {
        spy.mockClear();
        expect(await fingerprint(argv), argv.join(' ')).toBe(1);
        expect(spy.mock.calls, argv.join(' ')).toEqual([
          [`nx-triton fingerprint: unknown argument "${argv[0]}" (usage: nx-triton fingerprint [--json] [--builders-of <triton.yaml>])`],
        ]);
      }
    } finally {
      spy.mockRestore();
    }
  });
});

describe('parseVerb', () => {
  const USAGE = 'usage: nx-triton demo <dir> [--to X] [--server URL]...';
  const demo = (argv: string[], expected: string | null = 'one directory') => {
    let out = '';
    let err = '';
    const result = parseVerb(argv, { verb: 'demo', usage: USAGE, expected: expected ?? undefined, options: { to: { type: 'string' }, server: { type: 'string', multiple: true } } }, {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
    });
    return { result, out, err };
  };

  it('gives the options and the one positional argument', () => {
    expect(demo(['d', '--to=x', '--server', 'a', '--server', 'b']).result).toEqual({ values: { to: 'x', server: ['a', 'b'] }, positional: 'd' });
  });

  it('prints the usage and stops: 0 for --help, 2 with the reason for a usage error', () => {
    expect(demo(['-h'])).toEqual({ result: 0, out: `${USAGE}\n`, err: '' });
    expect(demo(['d', '--bogus'])).toMatchObject({ result: 2, out: '', err: expect.stringMatching(/^nx-triton demo: Unknown option '--bogus'.*\nusage: nx-triton demo/s) });
    expect(demo([])).toEqual({ result: 2, out: '', err: `nx-triton demo: expected one directory, got 0\n${USAGE}\n` });
    expect(demo(['a', 'b'])).toEqual({ result: 2, out: '', err: `nx-triton demo: expected one directory, got 2\n${USAGE}\n` });
    expect(demo(['a'], null)).toMatchObject({ result: 2, err: expect.stringMatching(/^nx-triton demo: Unexpected argument 'a'/) });
  });
});
