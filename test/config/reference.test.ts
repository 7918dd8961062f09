import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference, REFERENCE_BEGIN, REFERENCE_END } from '../../src/config/reference.js';
import { CONFIG_SCHEMA } from '../../src/config/schema.js';

describe('README configuration reference', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('matches the schema (regenerate with npm run docs:config)', () => {
    const section = readme.slice(readme.indexOf(REFERENCE_BEGIN), readme.indexOf(REFERENCE_END) + REFERENCE_END.length);
    expect(section).toBe(renderConfigReference());
  });

  it('documents every key with its default', () => {
    for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
      expect(readme).toContain(`| \`${key}\` | ${spec.type} | \`${JSON.stringify(spec.default)}\``);
    }
  });
});
