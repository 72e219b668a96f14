/**
 * Headless Chromium driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: JSON messages separated by NUL on fds 3 and 4), so
 * a test can load a page, wait for its DOM to change while it stays open (live
 * updates over Server-Sent Events never let --dump-dom or --virtual-time-budget
 * settle), read the DOM and take screenshots. No WebSocket, no npm package.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** The chromium binary, or undefined (with the reason) when it is not installed. */
export function findChromium(): { bin?: string; reason?: string } {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) return { bin };
  }
  return { reason: 'no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium; .ci/run installs it)' };
}

interface Pending {
  method: string;
  resolve(v: any): void;
  reject(e: Error): void;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf = '';
  private session = '';
  private stderr = '';

  private constructor(private readonly proc: ChildProcess, private readonly profile: string) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (d: string) => {
      this.buf += d;
      let nul: number;
      while ((nul = this.buf.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buf.slice(0, nul)) as { id?: number; result?: unknown; error?: { message: string } };
        this.buf = this.buf.slice(nul + 1);
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!p) continue;
        this.pending.delete(msg.id!);
        if (msg.error) p.reject(new Error(`CDP ${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      }
    });
    proc.stderr!.on('data', (d) => (this.stderr += d));
    proc.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited: ${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  /** Start chromium with a fresh profile and one page of width x height. */
  static async launch(bin: string, width = 1200, height = 800): Promise<Browser> {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-chromium-'));
    const proc = spawn(bin, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe', `--window-size=${width},${height}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const b = new Browser(proc, profile);
    const { targetId } = await b.send('Target.createTarget', { url: 'about:blank' }, false);
    b.session = (await b.send('Target.attachToTarget', { targetId, flatten: true }, false)).sessionId;
    await b.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return b;
  }

  send(method: string, params: object = {}, inSession = true): Promise<any> {
    const id = this.nextId++;
    const msg = { id, method, params, ...(inSession ? { sessionId: this.session } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      (this.proc.stdio[3] as Writable).write(JSON.stringify(msg) + '\0');
    });
  }

  async navigate(url: string): Promise<void> {
    const r = await this.send('Page.navigate', { url });
    if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
  }

  /** Evaluate an expression in the page; its value (JSON-able). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`page: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value as T;
  }

  dom(): Promise<string> {
    return this.evaluate<string>('document.documentElement.outerHTML');
  }

  /** Poll the DOM until `test` holds (or fail after `ms` with the last DOM). */
  async waitForDom(what: string, test: (html: string) => boolean, ms = 20_000): Promise<string> {
    const deadline = Date.now() + ms;
    let html = '';
    while (Date.now() < deadline) {
      // While a navigation commits the page has no context to evaluate in: try again.
      html = await this.dom().catch((e: Error) => `(no DOM: ${e.message})`);
      if (test(html)) return html;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; the DOM was:\n${html}`);
  }

  /** A PNG of the viewport (retried while a navigation is still committing). */
  async screenshot(): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.send('Page.captureScreenshot', { format: 'png' });
        return Buffer.from(r.data as string, 'base64');
      } catch (e) {
        if (attempt >= 50 || !/Not attached to an active page/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => (this.proc.exitCode !== null ? r(null) : this.proc.once('exit', r)));
    this.send('Browser.close', {}, false).catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    await rm(this.profile, { recursive: true, force: true });
  }
}
