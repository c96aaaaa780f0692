import { describe, expect, it } from 'vitest';
import { startEmbeddedStore } from '../../src/store/embedded-store.js';

describe('the embedded store’s JVM options', () => {
  // Rejected before java is looked for: a value without '-' would be taken for the main class and the store would
  // fail to start with a message about a class, not about the option.
  it.each([['Xmx1g'], ['-Xmx1g -Xms1g'], ['']])('refuses %j with a TypeError naming it, starting nothing', async (option) => {
    await expect(startEmbeddedStore({ backend: 'memory', jvmOptions: ['-Xss1m', option] })).rejects.toThrow(
      new TypeError(`Expected each JVM option to start with '-' and contain no spaces, but got '${option}'.`),
    );
  });
});
