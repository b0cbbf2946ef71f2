import { parseArgs, type CommandSpec } from '../src/args.js';
import { runWeft } from './helpers.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'A demo command.',
  positionals: [{ name: 'config', description: 'a file' }],
  options: [
    { name: 'steps', type: 'int', min: 1, value: 'N', description: 'steps' },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, description: 'lr' },
    { name: 'backend', type: 'string', choices: ['cpu', 'wasm', 'webgpu'], description: 'backend' },
    { name: 'eval-every', type: 'int', min: 1, description: 'eval' },
    { name: 'resume', type: 'optional-string', description: 'resume' },
    { name: 'plugins', type: 'list', description: 'plugins' },
    { name: 'json', type: 'boolean', description: 'json' },
  ],
};

describe('parseArgs', () => {
  it('reads values, kebab-case flags as camelCase, --x=y, lists and switches', () => {
    const parsed = parseArgs(spec, ['c.json', '--steps', '7', '--lr=0.01', '--eval-every', '2', '--plugins', 'a, b', '--json']);
    expect(parsed).toEqual({ positionals: ['c.json'], options: { steps: 7, lr: 0.01, evalEvery: 2, plugins: ['a', 'b'], json: true } });
  });

  it('takes --resume alone or with a folder, but leaves a .json file as the config', () => {
    expect(parseArgs(spec, ['--resume']).options.resume).toBe(true);
    expect(parseArgs(spec, ['--resume', 'runs/a']).options.resume).toBe('runs/a');
    expect(parseArgs(spec, ['--resume', 'c.json'])).toEqual({ positionals: ['c.json'], options: { resume: true } });
  });

  it.each([
    [['--steps', '-3'], '--steps must be a whole number >= 1; got "-3".'],
    [['--steps', '2.5'], '--steps must be a whole number >= 1; got "2.5".'],
    [['--steps', 'ten'], '--steps must be a whole number >= 1; got "ten".'],
    [['--lr', '0'], '--lr must be a number > 0; got "0".'],
    [['--steps'], '--steps needs a value, e.g. --steps N.'],
    [['--steps', '--json'], '--steps needs a value, e.g. --steps N.'],
    [['--backend', 'wasn'], '--backend must be one of cpu, wasm, webgpu; got "wasn". Did you mean "wasm"?'],
    [['--json=yes'], '--json is a switch and takes no value; got "--json=yes".'],
    [['--stpes', '3'], 'Unknown option --stpes for weft demo. Did you mean --steps? Run "weft demo --help" to see the options.'],
    [['a.json', 'b.json'], 'weft demo takes at most 1 argument(s) (config); got an extra "b.json". Flags start with --.'],
  ])('%j fails with one clear sentence', (argv, message) => {
    expect(() => parseArgs(spec, argv)).toThrow(message);
  });
});

describe('main', () => {
  it('prints usage for --help and for each command', async () => {
    const top = await runWeft('--help');
    expect(top.code).toBe(0);
    expect(top.out.join('\n')).toMatch(/Commands:[\s\S]*train[\s\S]*generate[\s\S]*doctor/);
    const train = await runWeft('train', '--help');
    expect(train.code).toBe(0);
    expect(train.out.join('\n')).toContain('--checkpoint-every N');
  });

  it('rejects an unknown command with a suggestion and exit code 2, no stack trace', async () => {
    const r = await runWeft('trian');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['weft: Unknown command "trian" (commands: train, eval, generate, plugins, doctor, init, new, bench). Did you mean "train"? Run "weft --help" for usage.']);
  });

  it('rejects a bad flag value before doing any work', async () => {
    const r = await runWeft('train', '--steps', '-3');
    expect(r).toEqual({ code: 2, out: [], err: ['weft: --steps must be a whole number >= 1; got "-3".'] });
  });

  it('needs the checkpoint argument of eval', async () => {
    const r = await runWeft('eval');
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe('weft: weft eval needs the <checkpoint> argument: A run folder or a checkpoint folder. Run "weft eval --help" for usage.');
  });
});
