import { describe, expect, it } from 'vitest';
import { roleWarnings } from '../../src/app/role-warnings.js';
import { loadConfig } from '../../src/config/load.js';

describe('role warnings for the unsubscribe address', () => {
  it('warns when it is not an address, and in the milter role (no store to record into)', async () => {
    const bad = await loadConfig(undefined, { 'unsubscribe.mailto': 'not-an-address' });
    expect(roleWarnings(bad, 'serve')).toEqual([expect.stringMatching(/^unsubscribe\.mailto "not-an-address" is not an address/)]);
    const good = await loadConfig(undefined, { 'unsubscribe.mailto': 'unsub@news.example' });
    expect(roleWarnings(good, 'serve')).toEqual([]);
    expect(roleWarnings(good, 'milter')).toEqual([expect.stringMatching(/^unsubscribe\.mailto is set, but the milter role has no store/)]);
  });
});
