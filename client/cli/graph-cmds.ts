/**
 * snapshot-graph (a virtsnap extension): a domain's snapshot tree as an SVG
 * picture or as Graphviz DOT, on stdout or into a file.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectGraph } from '../graph/graph-data.js';
import { commandOptDomain } from './lookup.js';
import { CliError, type Ctl, type ParsedCmd } from './vsh.js';

export const GRAPH_FORMATS = ['svg', 'dot'] as const;
type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** --format, else the output file's extension (.dot/.gv: DOT), else SVG. */
function formatOf(cmd: ParsedCmd, output: string | undefined): GraphFormat {
  const given = cmd.str('format');
  if (given !== undefined) {
    if (!(GRAPH_FORMATS as readonly string[]).includes(given)) {
      throw new CliError(`invalid format '${given}' for --format: expected one of ${GRAPH_FORMATS.join(', ')}`);
    }
    return given as GraphFormat;
  }
  return output !== undefined && /\.(dot|gv)$/i.test(output) ? 'dot' : 'svg';
}

export async function cmdSnapshotGraph(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const output = cmd.str('output');
  const format = formatOf(cmd, output);
  const { dom } = await commandOptDomain(ctl, cmd);
  const graph = await collectGraph(await ctl.conn(), dom.uuid, dom.name);
  const render = format === 'dot' ? (await import('../graph/dot.js')).renderDot : (await import('../graph/svg.js')).renderSvg;
  const text = render(graph);
  if (output === undefined) {
    ctl.print(text);
    return true;
  }
  const file = path.resolve(ctl.cwd, output);
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new CliError(`Failed to write file '${output}': ${(e as Error).message}`);
  }
  const n = graph.nodes.length;
  ctl.printExtra(`Snapshot graph of domain '${dom.name}' (${n} snapshot${n === 1 ? '' : 's'}, ${format}) written to ${output}`);
  return true;
}
