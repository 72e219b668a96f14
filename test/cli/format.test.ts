import { describe, expect, it } from 'vitest';
import {
  buildSnapshotXml, diskspecXml, formatLocalTime, formatTable, formatTree, memspecXml, readSnapshotXml, sortByName,
  stringToArray, xmlEscape,
} from '../../client/cli/format.js';
import { closeMatches, editDistance, suggestionText } from '../../client/cli/lookup.js';
import { shellEscape } from '../../client/cli/shell-cmds.js';
import { selectXPath } from '../../client/cli/xpath.js';
import { defaultSocket } from '../../client/cli/rpc.js';
import { defaultSocketPath } from '../../protocol/paths.js';

describe('vsh-table', () => {
  it('pads each cell to its column width + 2 and dashes sum(width + 3)', () => {
    const out = formatTable(['Name', 'Creation Time', 'State'], [['s3', '2019-04-16 12:00:00 +0200', 'running']], true);
    expect(out).toBe(
      ' Name   Creation Time               State\n' +
      '---------------------------------------------\n' +
      ' s3     2019-04-16 12:00:00 +0200   running\n',
    );
  });
  it('leaves the header out of the widths with -q', () => {
    expect(formatTable(['Name', 'State'], [['a', 'running'], ['bb', 'shut off']], false)).toBe(' a    running\n bb   shut off\n');
  });
  it('keeps an empty last cell (Parent of a root)', () => {
    const out = formatTable(['Name', 'Parent'], [['s1', ''], ['s2', 's1']], true);
    expect(out).toBe(' Name   Parent\n----------------\n s1     \n s2     s1\n');
  });
});

describe('snapshot tree (vshTreePrint)', () => {
  it('draws the scenario tree byte for byte', () => {
    const items = sortByName(
      [['s1', null], ['s3', 's1'], ['s2', 's3'], ['s6', 's3'], ['s5', 's6'], ['s4', 's6'], ['s7', 's1'], ['s8', 's7']].map(
        ([name, parent]) => ({ name: name!, parent }),
      ),
      (s) => s.name,
    );
    expect(formatTree(items)).toBe(
      's1\n  |\n  +- s3\n  |   |\n  |   +- s2\n  |   +- s6\n  |       |\n  |       +- s4\n  |       +- s5\n  |         \n' +
      '  +- s7\n      |\n      +- s8\n        \n',
    );
  });
  it('prints a childless root followed by an empty line, and several roots in order', () => {
    expect(formatTree([{ name: 'a', parent: null }, { name: 'b', parent: null }])).toBe('a\n\nb\n\n');
  });
});

describe('sorting', () => {
  it('sorts names case-insensitively', () => {
    // strcasecmp folds to lower case: '_' (0x5f) sorts before the letters
    expect(sortByName(['b', 'A', 'a', 'C', '_x', 'B2'], (s) => s)).toEqual(['_x', 'A', 'a', 'b', 'B2', 'C']);
  });
});

describe('diskspec/memspec (vshStringToArray)', () => {
  it('splits on , with ,, as a literal comma', () => {
    expect(stringToArray('a,b')).toEqual(['a', 'b']);
    expect(stringToArray('a,,b')).toEqual(['a,b']);
    expect(stringToArray('a,,,b')).toEqual(['a,', 'b']);
    expect(stringToArray('vda,file=a&b,,c,snapshot=external')).toEqual(['vda', 'file=a&b,c', 'snapshot=external']);
    expect(stringToArray('')).toEqual(['']);
    expect(stringToArray('a,')).toEqual(['a', '']);
  });
  it('builds <disk> elements', () => {
    expect(diskspecXml('vda')).toBe("<disk name='vda'/>\n");
    expect(diskspecXml('vda,file=a&b,,c,snapshot=external')).toBe("<disk name='vda' snapshot='external'>\n  <source file='a&amp;b,c'/>\n</disk>\n");
    expect(diskspecXml('vdb,stype=block,file=/dev/x,driver=qcow2')).toBe("<disk name='vdb' type='block'>\n  <driver type='qcow2'/>\n  <source dev='/dev/x'/>\n</disk>\n");
  });
  it('reports virsh parse errors', () => {
    expect(() => diskspecXml('vda,bogus=1')).toThrow('unable to parse diskspec: vda,bogus=1');
    expect(() => diskspecXml('vda,snapshot=a,snapshot=b')).toThrow('unable to parse diskspec: vda,snapshot=a,snapshot=b');
    let messages: string[] = [];
    try {
      diskspecXml('vda,stype=net');
    } catch (e) {
      messages = (e as { messages: string[] }).messages;
    }
    expect(messages).toEqual(["Unknown storage type: 'net'", 'unable to parse diskspec: vda,stype=net']);
    expect(() => memspecXml('bogus')).toThrow('unable to parse memspec: bogus');
  });
  it('builds <memory>', () => {
    expect(memspecXml('file=d,,e')).toBe("<memory file='d,e'/>\n");
    expect(memspecXml('/path/m,snapshot=external')).toBe("<memory snapshot='external' file='/path/m'/>\n");
  });
  it('builds the snapshot-create-as document', () => {
    expect(buildSnapshotXml({ description: '1<2', memspec: 'file=d,,e', diskspecs: ['vda,file=a&b,,c,snapshot=external', 'vdb'] })).toBe(
      '<domainsnapshot>\n  <description>1&lt;2</description>\n  <memory file=\'d,e\'/>\n  <disks>\n' +
      "    <disk name='vda' snapshot='external'>\n      <source file='a&amp;b,c'/>\n    </disk>\n    <disk name='vdb'/>\n  </disks>\n</domainsnapshot>\n",
    );
    expect(buildSnapshotXml({})).toBe('<domainsnapshot>\n</domainsnapshot>\n');
  });
  it('escapes like virBufferEscapeString', () => {
    expect(xmlEscape(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
});

describe('time and XML reading', () => {
  it('formats %Y-%m-%d %H:%M:%S %z in local time', () => {
    const s = formatLocalTime(1234);
    expect(s).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$/);
    const d = new Date(1234 * 1000);
    expect(s.slice(11, 19)).toBe(`${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`);
  });
  it('reads the snapshot fields, not the embedded domain', () => {
    const xml = "<domainsnapshot>\n  <name>s2</name>\n  <state>running</state>\n  <parent>\n    <name>s3</name>\n  </parent>\n  <creationTime>1234</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n    <disk name='vda' snapshot='external'/>\n  </disks>\n  <domain type='test'>\n    <name>test</name>\n  </domain>\n</domainsnapshot>\n";
    expect(readSnapshotXml(xml)).toMatchObject({ name: 's2', state: 'running', parent: 's3', creationTime: 1234, external: true });
    expect(readSnapshotXml('<domainsnapshot><name>a</name><state>disk-snapshot</state></domainsnapshot>')).toMatchObject({ parent: null, external: true });
  });
});

describe('close matches', () => {
  it('finds transpositions, case and prefixes', () => {
    expect(editDistance('tset', 'test')).toBe(1);
    expect(closeMatches('tset', ['test', 'other'])).toEqual(['test']);
    expect(closeMatches('S1', ['s1', 's2', 'zzz'])).toEqual(['s1', 's2']);
    expect(closeMatches('nothing', ['test'])).toEqual([]);
    expect(suggestionText(['test'])).toBe("(did you mean 'test'?)");
    expect(suggestionText(['a', 'b', 'c'])).toBe("(did you mean 'a', 'b' or 'c'?)");
    expect(suggestionText([])).toBeUndefined();
  });
});

describe('echo --shell (virBufferEscapeShell)', () => {
  it('quotes only when needed', () => {
    expect(shellEscape('a')).toBe('a');
    expect(shellEscape('')).toBe("''");
    expect(shellEscape("it's")).toBe("'it'\\''s'");
    expect(shellEscape('a b')).toBe("'a b'");
  });
});

describe('--xpath', () => {
  const xml = "<domain type='test'>\n  <name>test</name>\n  <devices>\n    <disk type='file' device='disk'>\n      <source file='/a'/>\n      <target dev='vda'/>\n    </disk>\n    <disk type='block'>\n      <target dev='vdb'/>\n    </disk>\n  </devices>\n</domain>\n";
  it('selects elements, attributes and text as libxml2 prints them', () => {
    expect(selectXPath(xml, '/domain/name', false)).toEqual(['<name>test</name>']);
    expect(selectXPath(xml, '//disk/@type', false)).toEqual([' type="file"', ' type="block"']);
    expect(selectXPath(xml, '//disk[target/@dev="vdb"]', false)).toEqual(['<disk type="block">\n  <target dev="vdb"/>\n</disk>']);
    expect(selectXPath(xml, '//disk[2]/@type', false)).toEqual([' type="block"']);
    expect(selectXPath(xml, '/domain/name/text()', false)).toEqual(['test']);
    expect(selectXPath(xml, '//source | //name', true)).toEqual(['<nodes>\n  <source file="/a"/>\n  <name>test</name>\n</nodes>']);
  });
});

describe('rpc defaults', () => {
  it('uses the same default socket as protocol/paths', () => {
    expect(defaultSocket({ XDG_RUNTIME_DIR: '/run/user/1' })).toBe(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/1' }));
    expect(defaultSocket({})).toBe(defaultSocketPath({}));
  });
});
