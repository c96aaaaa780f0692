import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('configuration', () => {
  it('starts with no configuration at all', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ env: 'development', port: 4000, store: { uri: null, dbName: 'retail_sync' }, seedDemoData: true, introspection: true });
  });

  it('turns introspection and demo data off in production', () => {
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ seedDemoData: false, introspection: false });
  });

  it('reports one line per bad value, naming the variable and what it got', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'eighty', MONGODB_URI: 'postgres://x', IDEMPOTENCY_RETENTION_HOURS: '1' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    const lines = message.split('\n').slice(1);
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).toMatch(/PORT: .*\(got "eighty"\)/);
    expect(lines.join('\n')).toMatch(/MONGODB_URI: expected a mongodb:\/\/ or mongodb\+srv:\/\/ URI \(got "postgres:\/\/x"\)/);
    expect(lines.join('\n')).toMatch(/IDEMPOTENCY_RETENTION_HOURS: keys are kept at least 24 hours/);
  });

  it('refuses a change log kept shorter than idempotency keys (a retry looks for its dead attempt there)', () => {
    expect(() => loadConfig({ CHANGE_LOG_RETENTION_HOURS: '12' })).toThrow(/CHANGE_LOG_RETENTION_HOURS: keep changes at least as long as idempotency keys/);
    expect(() => loadConfig({ CHANGE_LOG_RETENTION_HOURS: '48', IDEMPOTENCY_RETENTION_HOURS: '72' })).toThrow(ConfigError);
    expect(loadConfig({ CHANGE_LOG_RETENTION_HOURS: '24' }).changes.relay.retentionMs).toBe(24 * 60 * 60 * 1000);
  });

  it("counts MongoDB commands only when asked (the driver's command monitoring costs CPU)", () => {
    expect(loadConfig({}).store.commandMetrics).toBe(false);
    expect(loadConfig({ MONGODB_COMMAND_METRICS: 'true' }).store.commandMetrics).toBe(true);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ MONGODB_URI: '' }).store.uri).toBeNull();
  });
});
