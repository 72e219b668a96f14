import winston from 'winston';

export type Logger = winston.Logger;

/** Journal-friendly single-line logs on stdout (or a file). */
export function createLogger(level: string, file?: string): Logger {
  const format = winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf(({ timestamp, level: lvl, message }) => `${timestamp} ${lvl}: ${message}`),
  );
  const transport = file ? new winston.transports.File({ filename: file }) : new winston.transports.Console();
  return winston.createLogger({ level, format, transports: [transport] });
}
