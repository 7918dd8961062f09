import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

describe('mail classes and sender domains in the config file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tm-classes-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const load = async (toml: string) => {
    const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
    await writeFile(file, toml);
    return loadConfig(file, {});
  };
  const problems = async (toml: string) => {
    try {
      await load(toml);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('reads classes and sender domains', async () => {
    const config = await load(
      [
        '[tracking]',
        'domain = "click.example.com"',
        '[classes.a]',
        'mode = "stateless"',
        'style = "path"',
        '[sender_domains]',
        '"Shop.Example.org" = "click.shop.example.org"',
      ].join('\n'),
    );
    expect(config['tracking.domain']).toBe('click.example.com');
    expect(config.classes).toEqual({ a: { mode: 'stateless', style: 'path' } });
    expect(config.senderDomains).toEqual({ 'shop.example.org': 'click.shop.example.org' });
  });

  it('a bad domain, an unknown class key and a wrong type each name the key and the value', async () => {
    const found = await problems(
      [
        '[tracking]',
        'domain = "https://click.example.com/x"',
        '[classes.a]',
        'colour = "red"',
        'clicks = "yes"',
        '[sender_domains]',
        '"shop.example.org" = "not a domain"',
      ].join('\n'),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'tracking.domain', value: 'https://click.example.com/x' }),
        expect.objectContaining({ key: 'classes.a.colour', why: expect.stringContaining('unknown key') }),
        expect.objectContaining({ key: 'classes.a.clicks', value: 'yes', why: 'must be true or false' }),
        expect.objectContaining({ key: 'sender_domains."shop.example.org"', value: 'not a domain' }),
      ]),
    );
    expect(found).toHaveLength(4);
  });

  it('a class that is not a table is refused', async () => {
    expect(await problems('classes = 3')).toEqual([expect.objectContaining({ key: 'classes' })]);
  });
});
