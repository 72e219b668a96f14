import { describe, expect, it } from 'vitest';
import { commands, lookupCommand } from '../../client/cli/commands.js';
import { CliError, parseArgv, parseString, StringTokenizer, type ParsedCmd } from '../../client/cli/vsh.js';

function tokens(s: string): string[] {
  const t = new StringTokenizer(s);
  const out: string[] = [];
  for (;;) {
    const tok = t.next(true);
    if (tok.tk === 'end') return out;
    out.push(tok.tk === 'arg' ? tok.value : ';');
  }
}

const parse = (s: string) => parseString(s, lookupCommand);
const values = (c: ParsedCmd) => Object.fromEntries([...c.values].map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
const fails = (s: string, msg: string) => {
  expect(() => parse(s)).toThrow(CliError);
  expect(() => parse(s)).toThrow(msg);
};

describe('command-string tokenizer (vshCommandStringGetArg)', () => {
  it('splits on blanks, tabs, ; and newlines', () => {
    expect(tokens('echo a \t b')).toEqual(['echo', 'a', 'b']);
    expect(tokens(' echo a; echo b;')).toEqual(['echo', 'a', ';', 'echo', 'b', ';']);
    expect(tokens('\necho a\n echo b\n')).toEqual([';', 'echo', 'a', ';', 'echo', 'b', ';']);
  });
  it('handles quotes as the shell does', () => {
    expect(tokens('echo "a \t b"')).toEqual(['echo', 'a \t b']);
    expect(tokens("echo 'a \t b'")).toEqual(['echo', 'a \t b']);
    expect(tokens(`echo  "'"  '"'  '\\'"\\\\"`)).toEqual(['echo', "'", '"', '\\\\']);
    expect(tokens("echo 'Redefine; this will fail' ;x")).toEqual(['echo', 'Redefine; this will fail', ';', 'x']);
  });
  it('handles backslash escapes and backslash-newline', () => {
    expect(tokens('echo a\\ \\\t\\ b')).toEqual(['echo', 'a \t b']);
    expect(tokens("echo \\' \\\" \\;echo\ta")).toEqual(['echo', "'", '"', ';echo', 'a']);
    expect(tokens('ec\\\nho a\n echo \\\n b;')).toEqual(['echo', 'a', ';', 'echo', 'b', ';']);
    expect(tokens("ec\\\nho a\n echo '\\\n b';")).toEqual(['echo', 'a', ';', 'echo', '\\\n b', ';']);
  });
  it('treats # at the start of a word as a comment to the end of the line', () => {
    expect(tokens('echo a # b')).toEqual(['echo', 'a', ';']);
    expect(tokens('echo a #b\necho c')).toEqual(['echo', 'a', ';', 'echo', 'c']);
    expect(tokens("echo a '#' b")).toEqual(['echo', 'a', '#', 'b']);
    expect(tokens('echo a \\# b')).toEqual(['echo', 'a', '#', 'b']);
    expect(tokens('echo a#b')).toEqual(['echo', 'a#b']);
  });
  it('reports a dangling backslash and a missing double quote', () => {
    expect(() => tokens('echo a\\')).toThrow('dangling \\');
    expect(() => tokens('echo "a')).toThrow('missing "');
  });
});

describe('vshCommandParse', () => {
  it('parses several commands, skipping empty ones and comments', () => {
    const cmds = parse('#unbalanced; \'quotes"\necho a # b\n\n;;echo c');
    expect(cmds.map((c) => c.def.name)).toEqual(['echo', 'echo']);
    expect(cmds[0].argv('string')).toEqual(['a']);
    expect(parse("\\# ignored;echo a\n'#also' ignored").map((c) => c.argv('string'))).toEqual([['a']]);
  });

  it('accepts --opt value and --opt=value', () => {
    expect(values(parse('snapshot-list --domain test --from=s3')[0])).toEqual({ domain: 'test', from: 's3' });
    expect(values(parse('snapshot-list --domain=test --from s3 --name')[0])).toEqual({ domain: 'test', from: 's3', name: true });
  });

  it('fills positional data into the lowest option not given by name', () => {
    const c = (s: string) => {
      const cmd = parse(s)[0];
      return [cmd.str('domain'), cmd.str('name'), cmd.str('description'), cmd.argv('diskspec')];
    };
    expect(c('snapshot-create-as --print-xml test name desc vda vdb')).toEqual(['test', 'name', 'desc', ['vda', 'vdb']]);
    expect(c('snapshot-create-as --print-xml test --diskspec vda name --diskspec vdb desc')).toEqual(['test', 'name', 'desc', ['vda', 'vdb']]);
    expect(c('snapshot-create-as --print-xml --description desc --diskspec vda --name name --domain test vdb')).toEqual(['test', 'name', 'desc', ['vda', 'vdb']]);
    expect(c('snapshot-create-as --print-xml test name vda vdb')).toEqual(['test', 'name', 'vda', ['vdb']]);
    // --from is positional after the domain; booleans never are
    expect(values(parse('snapshot-list test s3 --descendants')[0])).toEqual({ domain: 'test', from: 's3', descendants: true });
    expect(values(parse('snapshot-delete test --children-only s6')[0])).toEqual({ domain: 'test', 'children-only': true, snapshotname: 's6' });
  });

  it('never fills a --memspec (REQ_OPT) positionally', () => {
    const cmd = parse('snapshot-create-as test n d --memspec file=/m x')[0];
    expect(cmd.str('memspec')).toBe('file=/m');
    expect(cmd.argv('diskspec')).toEqual(['x']);
  });

  it('-- ends the options', () => {
    expect(parse('echo -- --shell a')[0].argv('string')).toEqual(['--shell', 'a']);
    expect(parseArgv(['echo', '--', '--', '--shell', 'a'], lookupCommand)[0].argv('string')).toEqual(['--', '--shell', 'a']);
    // a quoted "--" is still "--" once the quotes are removed
    expect(parse("echo \t '-'\"-\" \t --shell \t a")[0].argv('string')).toEqual(['--shell', 'a']);
    expect(parse('echo --s\\h\'e\'"l"l -- a')[0].has('shell')).toBe(true);
  });

  it('resolves aliases', () => {
    expect(parse('echo --str hello')[0].argv('string')).toEqual(['hello']);
    expect(parse('echo --hi')[0].argv('string')).toEqual(['hello']);
    fails('echo --hi=there', "invalid '=' after option --hi");
  });

  it('argv mode takes each word literally (no ; splitting)', () => {
    const cmds = parseArgv(['echo', 'a;b', "'c'"], lookupCommand);
    expect(cmds).toHaveLength(1);
    expect(cmds[0].argv('string')).toEqual(['a;b', "'c'"]);
  });

  it('reports virsh syntax errors', () => {
    fails('nosuch test', "unknown command: 'nosuch'");
    fails('snapshot-list test --bogus', "command 'snapshot-list' doesn't support option --bogus");
    fails('snapshot-list test --from s1 --from s2', 'option --from already seen');
    fails('snapshot-list test --domain x', 'option --domain already seen');
    fails('snapshot-list test --from', 'expected syntax: --from <string>');
    fails('snapshot-list test --name=yes', "invalid '=' after option --name");
    fails('snapshot-list test extra1 extra2', "unexpected data 'extra2'");
    fails('snapshot-list', "command 'snapshot-list' requires <domain> option");
    fails('snapshot-dumpxml test', "command 'snapshot-dumpxml' requires <snapshotname> option");
    fails('snapshot-list --tree', "command 'snapshot-list' requires <domain> option");
  });

  it('one syntax error anywhere aborts the whole string', () => {
    fails('echo a; snapshot-list test --bogus; echo b', "doesn't support option --bogus");
  });

  it('an empty option value is refused when the command reads it', () => {
    const cmd = parse('snapshot-create-as test ""')[0];
    expect(() => cmd.str('name')).toThrow("Failed to get option 'name': Option argument is empty");
  });

  it('ignores unknown options and data for help', () => {
    expect(parse('help --foo snapshot-list bar')[0].str('command')).toBe('snapshot-list');
  });
});

describe('the command table', () => {
  it('has one entry per command with unique option names', () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of commands) {
      const opts = c.opts.map((o) => o.name);
      expect(new Set(opts).size, c.name).toBe(opts.length);
    }
  });
  it('covers every command of the issue', () => {
    for (const n of [
      'snapshot-create', 'snapshot-create-as', 'snapshot-current', 'snapshot-edit', 'snapshot-info', 'snapshot-parent',
      'snapshot-dumpxml', 'snapshot-list', 'snapshot-revert', 'snapshot-delete', 'checkpoint-create-as', 'list', 'define',
      'undefine', 'start', 'shutdown', 'destroy', 'suspend', 'resume', 'domstate', 'dumpxml', 'uri', 'help', 'echo', 'cd',
    ]) {
      expect(lookupCommand(n), n).toBeDefined();
    }
  });
  it('maps commands to procedures that exist in the protocol table', async () => {
    const { procedures } = await import('../../protocol/procedures.js');
    for (const c of commands) if (c.procedure) expect(Object.keys(procedures), c.name).toContain(c.procedure);
  });
  it('offers --json on every reading command', () => {
    for (const n of ['snapshot-list', 'snapshot-info', 'snapshot-current', 'snapshot-parent', 'snapshot-dumpxml', 'list', 'domstate', 'dumpxml', 'uri']) {
      expect(lookupCommand(n)!.opts.some((o) => o.name === 'json'), n).toBe(true);
    }
  });
});
