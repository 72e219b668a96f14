/**
 * `event`, `domjobinfo`, `domjobabort` against a real virtsnapd (test driver),
 * and the progress display of long jobs as pure functions (test-driver jobs end
 * in milliseconds, far below the display's threshold).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../client/cli/cli.js';
import { MemorySink } from '../../client/cli/output.js';
import { formatEvent, formatTimestamp } from '../../client/cli/event-cmds.js';
import { formatJobInfo, jobJson } from '../../client/cli/job-cmds.js';
import {
  jobPercent, plainProgressLine, prettyCapacity, ProgressDisplay, ttyProgressLine, withProgress, type JobProgress,
} from '../../client/cli/progress.js';
import type { Conn } from '../../client/cli/rpc.js';
import type { Ctl } from '../../client/cli/vsh.js';
import { Transport } from '../../client/transport.js';
import { encodeFrame, FrameDecoder } from '../../protocol/framing.js';
import { runCliProcess, startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';
import { tempDir } from '../helpers/temp-dirs.js';

interface Run {
  out: string;
  stdout: string;
  stderr: string;
  status: number;
}

async function cliOn(socket: string, ...args: string[]): Promise<Run> {
  const sink = new MemorySink();
  const status = await runCli(args, { sink, env: { ...process.env, VIRTSNAP_SOCKET: socket }, stdinIsTTY: false });
  return { out: sink.text, stdout: sink.stdout, stderr: sink.stderr, status };
}

/**
 * Run `event ...` in-process and resolve `ready` once its subscriptions are in
 * place (the register replies have arrived), so the test can then cause events
 * without racing the subscription.
 */
function eventCommand(socket: string, args: string[], subscriptions = 1): { ready: Promise<void>; done: Promise<Run> } {
  const original = Transport.prototype.raw;
  let registered = 0;
  let signal!: () => void;
  const ready = new Promise<void>((resolve) => (signal = resolve));
  const spy = vi.spyOn(Transport.prototype, 'raw').mockImplementation(function (this: Transport, method: string, params?: object) {
    const p = original.call(this, method, params);
    if (method === 'virConnectDomainEventRegisterAny') {
      void p.then(() => {
        if (++registered === subscriptions) setImmediate(signal);
      }, () => undefined);
    }
    return p;
  });
  const done = cliOn(socket, ...args).finally(() => spy.mockRestore());
  return { ready: Promise.race([ready, done.then(() => undefined)]), done };
}

describe('event, domjobinfo, domjobabort against virtsnapd', () => {
  let d: CliDaemon;
  const cli = (...args: string[]) => cliOn(d.socket, ...args);
  beforeAll(async () => {
    d = await startCliDaemon();
    expect((await cli('-q', 'snapshot-create-as test s1; snapshot-create-as test s2')).out).toBe('');
  });
  afterAll(async () => {
    await d?.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('event --count 2 prints virsh\'s lifecycle lines while another connection reverts', async () => {
    const ev = eventCommand(d.socket, ['event test --event lifecycle --count 2']);
    await ev.ready;
    expect((await cli('-q', 'snapshot-revert test s1')).status).toBe(0);
    const r = await ev.done;
    expect(r).toEqual({
      out: "event 'lifecycle' for domain 'test': Stopped Snapshot\n" +
        "event 'lifecycle' for domain 'test': Started Snapshot\n" +
        'events received: 2\n\n',
      stdout: expect.any(String), stderr: '', status: 0,
    });
  });

  it('event --all: snapshot events in virtsnap\'s line, in sequence order, one-shot by default', async () => {
    const ev = eventCommand(d.socket, ['event --all --loop --count 4 --timestamp'], 2);
    await ev.ready;
    expect((await cli('-q', 'snapshot-revert test s2')).status).toBe(0);
    const r = await ev.done;
    const lines = r.stdout.split('\n');
    const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: /;
    for (const l of lines.slice(0, 4)) expect(l).toMatch(stamp);
    expect(lines.map((l) => l.replace(stamp, ''))).toEqual([
      "event 'lifecycle' for domain 'test': Stopped Snapshot",
      "event 'lifecycle' for domain 'test': Started Snapshot",
      "event 'snapshot' for domain 'test': reverted s2",
      "event 'snapshot' for domain 'test': current s2",
      'events received: 4', '', '',
    ]);
    const one = eventCommand(d.socket, ['event --event snapshot']);
    await one.ready;
    expect((await cli('-q', 'snapshot-create-as test s3')).status).toBe(0);
    expect((await one.done).out).toBe("event 'snapshot' for domain 'test': created s3\nevents received: 1\n\n");
  });

  it('event --json: one object per line on stdout, the closing line on stderr', async () => {
    const ev = eventCommand(d.socket, ['event', 'test', '--all', '--count', '3', '--json'], 2);
    await ev.ready;
    expect((await cli('-q', 'snapshot-revert test s1')).status).toBe(0);
    const r = await ev.done;
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('events received: 3\n');
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toHaveLength(3);
    expect(objs[0]).toMatchObject({ type: 'lifecycle', eventID: 0, event: 5, detail: 6, eventName: 'Stopped', detailName: 'Snapshot', domain: { name: 'test' }, uri: 'test:///default' });
    expect(objs[1]).toMatchObject({ type: 'lifecycle', event: 2, detail: 3, eventName: 'Started', detailName: 'Snapshot' });
    expect(objs[2]).toMatchObject({ type: 'snapshot', eventID: 100, action: 'reverted', snapshot: 's1' });
    const seqs = objs.map((o) => o.seq as number);
    expect(seqs).toEqual([seqs[0], seqs[0] + 1, seqs[0] + 2]);
    expect(typeof objs[0].time).toBe('string');
  });

  it('event --timeout ends the wait, as virsh: timed out, nothing received, failure', async () => {
    const t0 = Date.now();
    const r = await runCliProcess(['event', '--all', '--timeout', '1'], { socket: d.socket });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(r).toEqual({ output: 'event loop timed out\nevents received: 0\n\n', status: 1 });
  });

  it('event --list and option errors', async () => {
    expect((await cli('event --list')).out).toBe('lifecycle\nsnapshot\n\n');
    const cases: Array<[string, string]> = [
      ['event', 'error: one of --list, --all, or --event <type> is required\n'],
      ['event --event reboot', 'error: unknown event type reboot\n'],
      ['event --all --event lifecycle', 'error: Options --all and --event are mutually exclusive\n'],
      ['event --list --all', 'error: Options --list and --all are mutually exclusive\n'],
      ['event --all --timeout 0', "error: Numeric value '0' for <timeout> option is malformed or out of range\n"],
      ['event --all --timeout x', "error: Numeric value 'x' for <timeout> option is malformed or out of range\n"],
      ['event --all --count -1', "error: Numeric value '-1' for <count> option is malformed or out of range\n"],
      ['event tset --all', "error: failed to get domain 'tset'\n(did you mean 'test'?)\n"],
    ];
    for (const [cmd, err] of cases) expect(await cli(cmd), cmd).toMatchObject({ out: `${err}\n`, status: 1 });
  });

  it('domjobinfo when idle, and --json', async () => {
    expect(await cli('domjobinfo test')).toMatchObject({ out: 'Job type:         None        \n\n', status: 0 });
    expect(JSON.parse((await cli('-q', 'domjobinfo test --json')).stdout)).toEqual({ type: 'none', waiting: 0 });
  });

  it('domjobabort with no job is libvirt\'s operation-invalid error', async () => {
    expect(await cli('domjobabort test')).toMatchObject({
      out: 'error: Requested operation is not valid: no job is active on the domain\n\n', status: 1,
    });
  });

  it('help takes the summaries from the protocol table', async () => {
    const h = (await cli('help event')).stdout;
    expect(h).toContain('event - Subscribe to domain events');
    expect(h).toContain('[--since <number>]');
    expect((await cli('help domjobinfo')).stdout).toContain('domjobinfo - The running job in detail');
    expect((await cli('help events')).stdout).toContain(' Domain Events (help keyword \'events\'):\n    event ');
  });
});

describe('event --since: replay from the daemon\'s buffer', () => {
  let d: CliDaemon;
  /** Sequence number of the n-th event (1-based) of this daemon; numbers start at its start time. */
  let seq: (n: number) => number;
  beforeAll(async () => {
    d = await startCliDaemon(['--event-buffer', '4']);
    // Events 1..6: created s1, current s1, created s2, current s2, created s3, current s3.
    expect((await cliOn(d.socket, '-q', 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-create-as test s3')).out).toBe('');
    // The buffer holds events 3..6; the first of them tells where numbering started.
    const probe = await cliOn(d.socket, 'event --all --since 0 --count 1 --json');
    const third = (JSON.parse(probe.stdout.trim().split('\n')[0]!) as { seq: number }).seq;
    seq = (n) => third + n - 3;
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('replays what is still buffered, in order, without a warning', async () => {
    const r = await runCliProcess(['event', '--all', '--since', String(seq(4)), '--loop', '--timeout', '1'], { socket: d.socket });
    expect(r).toEqual({
      output: "event 'snapshot' for domain 'test': created s3\n" +
        "event 'snapshot' for domain 'test': current s3\n" +
        'event loop timed out\nevents received: 2\n\n',
      status: 0,
    });
    const one = await cliOn(d.socket, `event --event snapshot --since ${seq(5)}`);
    expect(one.out).toBe("event 'snapshot' for domain 'test': current s3\nevents received: 1\n\n");
  });

  it('warns on stderr when the buffer no longer holds every missed event', async () => {
    const r = await cliOn(d.socket, 'event --all --since 0 --count 4 --json');
    expect(r.stderr).toBe("warning: virtsnapd's event buffer no longer holds every event after sequence number 0: some were lost\nevents received: 4\n");
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([seq(3), seq(4), seq(5), seq(6)]);
    expect(r.status).toBe(0);
  });
});

describe('event formatting', () => {
  const base = { seq: 1, time: '2026-11-26T01:02:03.123Z', uri: 'test:///default', domain: { name: 'test', uuid: 'u' } };
  it('uses virsh\'s names for lifecycle events and details', () => {
    expect(formatEvent({ ...base, eventID: 0, event: 2, detail: 0 })).toBe("event 'lifecycle' for domain 'test': Started Booted\n");
    expect(formatEvent({ ...base, eventID: 0, event: 3, detail: 2 })).toBe("event 'lifecycle' for domain 'test': Suspended I/O Error\n");
    expect(formatEvent({ ...base, eventID: 0, event: 5, detail: 1 })).toBe("event 'lifecycle' for domain 'test': Stopped Destroyed\n");
    expect(formatEvent({ ...base, eventID: 0, event: 4, detail: 0 })).toBe("event 'lifecycle' for domain 'test': Resumed Unpaused\n");
    expect(formatEvent({ ...base, eventID: 0, event: 0, detail: 0 })).toBe("event 'lifecycle' for domain 'test': Defined Added\n");
    expect(formatEvent({ ...base, eventID: 0, event: 42, detail: 0 })).toBe("event 'lifecycle' for domain 'test': unknown unknown\n");
  });
  it('prints snapshot events as ACTION NAME, and a cleared current snapshot without a name', () => {
    expect(formatEvent({ ...base, eventID: 100, action: 'redefined', snapshot: 's1' })).toBe("event 'snapshot' for domain 'test': redefined s1\n");
    expect(formatEvent({ ...base, eventID: 100, action: 'current', snapshot: '' })).toBe("event 'snapshot' for domain 'test': current\n");
  });
  it('formats the time as virTimeStringNowRaw', () => {
    expect(formatTimestamp('2026-11-26T01:02:03.123Z')).toBe('2026-11-26 01:02:03.123+0000');
    expect(formatTimestamp('2026-01-02T03:04:05.006+01:00')).toBe('2026-01-02 02:04:05.006+0000');
  });
});

describe('domjobinfo layout', () => {
  it('shows a running job in virsh\'s columns and the queue', () => {
    const now = 1_000_000;
    const text = formatJobInfo({
      type: 1, operation: 'snapshot-create', timeElapsed: 123, timeRemaining: 0, dataTotal: 3 * 1048576,
      dataProcessed: 1048576, dataRemaining: 2 * 1048576, abortable: 1,
      holder: 'virDomainSnapshotCreateXML', holderSince: now - 12, waiting: 2,
    }, now);
    expect(text).toBe(
      'Job type:         Bounded     \n' +
      'Operation:        Snapshot    \n' +
      'Time elapsed:     123          ms\n' +
      'Time remaining:   0            ms\n' +
      'Data processed:   1.000 MiB\n' +
      'Data remaining:   2.000 MiB\n' +
      'Data total:       3.000 MiB\n' +
      'Job holder:       virDomainSnapshotCreateXML (12 ms)\n' +
      'Waiting jobs:     2           \n',
    );
  });
  it('an unbounded job has no remaining time or data lines; a queue without a snapshot job still shows', () => {
    expect(formatJobInfo({ type: 2, operation: 'snapshot-revert', timeElapsed: 5, waiting: 0 }, 0)).toBe(
      'Job type:         Unbounded   \nOperation:        Snapshot revert\nTime elapsed:     5            ms\n',
    );
    expect(formatJobInfo({ type: 0, holder: 'virDomainCreate', holderSince: 90, waiting: 1 }, 100)).toBe(
      'Job type:         None        \nJob holder:       virDomainCreate (10 ms)\nWaiting jobs:     1           \n',
    );
  });
  it('--json names the type and makes abortable a boolean', () => {
    expect(jobJson({ type: 2, operation: 'snapshot-delete', timeElapsed: 7, abortable: 0, waiting: 0 })).toEqual({
      type: 'unbounded', operation: 'snapshot-delete', timeElapsed: 7, abortable: false, waiting: 0,
    });
  });
});

describe('progress display', () => {
  const job = (processed: number, total: number): JobProgress => ({ type: 1, dataTotal: total, dataProcessed: processed, dataRemaining: total - processed });

  it('computes virsh\'s percentage: truncated, never 100 before the end', () => {
    expect(jobPercent(job(42, 100))).toBe(42);
    expect(jobPercent(job(999, 1000))).toBe(99);
    expect(jobPercent(job(9999999, 10000000))).toBe(99);
    expect(jobPercent(job(100, 100))).toBe(100);
    expect(jobPercent(job(0, 100))).toBe(0);
    expect(jobPercent({ type: 2, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 })).toBeUndefined();
    expect(jobPercent({ type: 1, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 })).toBeUndefined();
    expect(jobPercent(undefined)).toBeUndefined();
  });

  it('vshPrettyCapacity', () => {
    expect(prettyCapacity(1023)).toEqual({ value: 1023, unit: 'B' });
    expect(prettyCapacity(1024)).toEqual({ value: 1, unit: 'KiB' });
    expect(prettyCapacity(1.5 * 1048576)).toEqual({ value: 1.5, unit: 'MiB' });
    expect(prettyCapacity(2 ** 40)).toEqual({ value: 1, unit: 'TiB' });
  });

  it('formats the terminal line as virsh\'s bar, or a spinner while unbounded', () => {
    expect(ttyProgressLine('Snapshot', job(42, 100), 1500, 0)).toBe('Snapshot: [ 42 %]');
    expect(ttyProgressLine('Snapshot revert', job(100, 100), 1500, 0)).toBe('Snapshot revert: [100 %]');
    const unbounded = { type: 2, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 };
    expect(ttyProgressLine('Snapshot', unbounded, 2500, 0)).toBe('Snapshot: [  |  ] 2.5 s');
    expect(ttyProgressLine('Snapshot', unbounded, 2750, 1)).toBe('Snapshot: [  /  ] 2.8 s');
    expect(ttyProgressLine('Snapshot', undefined, 1000, 3)).toBe('Snapshot: [  \\  ] 1.0 s');
  });

  it('formats the plain line with amounts in the total\'s unit', () => {
    const MiB = 1048576;
    expect(plainProgressLine('snapshot-create', job(12 * MiB, 28.6 * MiB), 3000)).toBe('snapshot-create: 41% (12.0 of 28.6 MiB)');
    expect(plainProgressLine('snapshot-create', job(512 * 1024, 2 * 1024 * MiB), 3000)).toBe('snapshot-create: 0% (0.0 of 2.0 GiB)');
    expect(plainProgressLine('snapshot-revert', undefined, 3999)).toBe('snapshot-revert: 3 s elapsed');
  });

  it('redraws one line on a terminal and erases it at the end', () => {
    let out = '';
    const p = new ProgressDisplay({ tty: true, label: 'Snapshot', command: 'snapshot-create', write: (s) => (out += s) });
    p.update({ type: 2, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 }, 1000, 0);
    p.update(job(5, 100), 1250, 250);
    p.update(job(50, 100), 1500, 500);
    p.finish();
    expect(out).toBe('\rSnapshot: [  |  ] 1.0 s' + '\rSnapshot: [  5 %]      ' + '\rSnapshot: [ 50 %]' + `\r${' '.repeat(17)}\r`);
    out = '';
    new ProgressDisplay({ tty: true, label: 'Snapshot', command: 'x', write: (s) => (out += s) }).finish();
    expect(out).toBe('');
  });

  it('prints at most one plain line a second otherwise', () => {
    const lines: string[] = [];
    const p = new ProgressDisplay({ tty: false, label: 'Snapshot', command: 'snapshot-create', write: (s) => lines.push(s) });
    for (let t = 0; t <= 2500; t += 250) p.update(job(t, 10000), 1000 + t, t);
    p.finish();
    expect(lines).toEqual(['snapshot-create: 0% (0.0 of 9.8 KiB)\n', 'snapshot-create: 10% (1.0 of 9.8 KiB)\n', 'snapshot-create: 20% (2.0 of 9.8 KiB)\n']);
  });

  describe('withProgress', () => {
    function fakes(tty: boolean, quiet = false) {
      let err = '';
      const calls: string[] = [];
      const ctl = { quiet, stdoutIsTTY: tty, stderr: (s: string) => (err += s) } as unknown as Ctl;
      let processed = 0;
      const conn = {
        call: async (method: string) => {
          calls.push(method);
          processed = Math.min(100, processed + 30);
          return { type: 1, timeElapsed: 0, timeRemaining: 0, dataTotal: 100, dataProcessed: processed, dataRemaining: 100 - processed };
        },
      } as unknown as Conn;
      return { ctl, conn, calls, err: () => err };
    }
    const after = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));

    it('shows nothing, and asks nothing, for calls under the threshold', async () => {
      const f = fakes(true);
      expect(await withProgress(f.ctl, f.conn, 'u', 'snapshot-create', 'snapshot-create', after(20, 'ok'), { threshold: 200, interval: 10 })).toBe('ok');
      expect(f.err()).toBe('');
      expect(f.calls).toEqual([]);
    });

    it('polls virDomainGetJobInfo past the threshold, draws, and clears the line', async () => {
      const f = fakes(true);
      await withProgress(f.ctl, f.conn, 'u', 'snapshot-create', 'snapshot-create', after(150, 0), { threshold: 20, interval: 20 });
      expect(f.calls.length).toBeGreaterThanOrEqual(2);
      expect(new Set(f.calls)).toEqual(new Set(['virDomainGetJobInfo']));
      expect(f.err()).toMatch(/^\rSnapshot: \[ 30 %\]\rSnapshot: \[ 60 %\]/);
      expect(f.err().endsWith(`\r${' '.repeat(17)}\r`)).toBe(true);
    });

    it('stops polling after the call, also when it fails, and stays silent under -q', async () => {
      const f = fakes(false);
      await expect(withProgress(f.ctl, f.conn, 'u', 'snapshot-delete', 'snapshot-delete', after(80, 0).then(() => {
        throw new Error('boom');
      }), { threshold: 20, interval: 20 })).rejects.toThrow('boom');
      const n = f.calls.length;
      expect(f.err()).toBe('snapshot-delete: 30% (30.0 of 100.0 B)\n');
      await after(60, 0);
      expect(f.calls.length).toBe(n);
      const q = fakes(true, true);
      await withProgress(q.ctl, q.conn, 'u', 'snapshot-create', 'snapshot-create', after(60, 0), { threshold: 10, interval: 10 });
      expect(q.err()).toBe('');
      expect(q.calls).toEqual([]);
    });
  });
});

/**
 * A stand-in daemon whose revert takes 1.5 s and reports bounded progress, to
 * watch the progress display end to end (test-driver jobs are too quick to show).
 */
async function slowDaemon(socket: string): Promise<{ calls: string[]; close(): Promise<void> }> {
  const net = await import('node:net');
  const calls: string[] = [];
  let revertStarted = 0;
  const MiB = 1048576;
  const answer = (method: string, params: Record<string, unknown>): Promise<unknown> | unknown => {
    switch (method) {
      case 'virConnectOpen': return { uri: 'test:///default' };
      case 'virDomainLookupByName': return { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 };
      case 'virDomainSnapshotLookupByName': return { domain: 'test', name: params.snapshot };
      case 'virDomainRevertToSnapshot':
        revertStarted = Date.now();
        return new Promise((r) => setTimeout(() => r(0), 1500));
      case 'virDomainGetJobInfo': {
        const done = Math.min(100 * MiB, Math.round(((Date.now() - revertStarted) / 1500) * 100 * MiB));
        return { type: 1, timeElapsed: Date.now() - revertStarted, timeRemaining: 0, dataTotal: 100 * MiB, dataProcessed: done, dataRemaining: 100 * MiB - done };
      }
      default: throw new Error(method);
    }
  };
  const server = net.createServer((s) => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024, maxHeaderBytes: 8192 }, {
      message: (body) => {
        const msg = JSON.parse(body.toString('utf8')) as { id: number; method: string; params: Record<string, unknown> };
        calls.push(msg.method);
        void Promise.resolve(answer(msg.method, msg.params)).then((result) => {
          if (!s.destroyed) s.write(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result })));
        });
      },
      oversized: () => s.destroy(),
      fatal: () => s.destroy(),
    });
    s.on('data', (d: Buffer) => decoder.feed(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return { calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('progress of a long job, end to end (stand-in daemon)', () => {
  let dir: string;
  let fake: Awaited<ReturnType<typeof slowDaemon>>;
  beforeAll(async () => {
    const path = await import('node:path');
    dir = tempDir('virtsnap-cli-progress-');
    fake = await slowDaemon(path.join(dir, 'sock'));
  });
  afterAll(async () => {
    await fake?.close();
    const { rmSync } = await import('node:fs');
    rmSync(dir, { recursive: true, force: true });
  });

  it('plain lines on stderr when stdout is not a terminal, then the usual output', async () => {
    const r = await runCliProcess(['snapshot-revert', 'test', 's1'], { socket: `${dir}/sock` });
    expect(r.status).toBe(0);
    const lines = r.output.split('\n');
    expect(lines.slice(-3)).toEqual(['Domain snapshot s1 reverted', '', '']);
    const progress = lines.slice(0, -3);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(2);
    for (const l of progress) expect(l).toMatch(/^snapshot-revert: \d{1,2}% \(\d+\.\d of 100\.0 MiB\)$/);
    expect(fake.calls).toContain('virDomainGetJobInfo');
  });

  it('one redrawn line on a terminal, erased before the result', async () => {
    const sink = new MemorySink();
    const status = await runCli(['snapshot-revert', 'test', 's1'], {
      sink, env: { ...process.env, VIRTSNAP_SOCKET: `${dir}/sock` }, stdinIsTTY: false, stdoutIsTTY: true,
    });
    expect(status).toBe(0);
    expect(sink.stdout).toBe('Domain snapshot s1 reverted\n\n');
    expect(sink.stderr).toMatch(/^(\rSnapshot revert: \[ {0,2}\d{1,2} %\])+\r {24}\r$/);
    expect(sink.stderr.split('\r').length).toBeGreaterThanOrEqual(4);
  });
});
