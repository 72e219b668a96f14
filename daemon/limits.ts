/**
 * The connection limits and their defaults, apart from the daemon so that the
 * option table (and so `--help`) can name the defaults without loading the server.
 */
export interface ConnectionLimits {
  /** Largest frame body accepted (bytes). */
  maxFrameBytes: number;
  /** Requests of one connection being processed at once; more wait unread in the socket. */
  maxInFlight: number;
  /** Stop reading a connection's requests while more than this many bytes of its replies are unread. */
  maxUnreadReplyBytes: number;
  /** Close a connection silent this long (no request, no keepalive answer) while nothing is in flight; 0: never. */
  idleTimeoutMs: number;
  /** Send a `$/keepalive` request after this much silence; 0: never. */
  keepaliveIntervalMs: number;
  /** Close a connection whose frame is not complete, or whose replies are not read, after this long; 0: never. */
  slowClientTimeoutMs: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxInFlight: 32,
  maxUnreadReplyBytes: 1024 * 1024,
  idleTimeoutMs: 600_000,
  keepaliveIntervalMs: 30_000,
  slowClientTimeoutMs: 30_000,
};

export const DEFAULT_MAX_CLIENTS = 128;
