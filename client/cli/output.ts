/**
 * Where virtsnap's text goes. virsh flushes stdout before every write to stderr
 * so that `2>&1` keeps the order; we get the same by writing synchronously to
 * the file descriptors (process.stdout is asynchronous on pipes). Tests plug in
 * a Sink that records both streams into one string.
 */
import { writeSync } from 'node:fs';

export interface Sink {
  out(text: string): void;
  err(text: string): void;
}

function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text, 'utf8');
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // a non-blocking pipe is full: retry
      if (code === 'EPIPE') return; // reader went away (virtsnap ... | head)
      throw e;
    }
  }
}

export const stdioSink: Sink = {
  out: (text) => writeAll(1, text),
  err: (text) => writeAll(2, text),
};

/** A sink that merges both streams in order, as virshtest does. */
export class MemorySink implements Sink {
  text = '';
  stdout = '';
  stderr = '';
  out(text: string): void {
    this.text += text;
    this.stdout += text;
  }
  err(text: string): void {
    this.text += text;
    this.stderr += text;
  }
}
