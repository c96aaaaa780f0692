import pino, { type Logger } from 'pino';

/** JSON logs; API keys never reach them, even when a header is logged by mistake. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'retail-sync-gateway' },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'key'], censor: '[redacted]' },
  });
}
