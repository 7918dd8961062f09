import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_IN_CONFIRM_TEMPLATE, maskAddress, PageTemplates, renderConfirmPage, renderDonePage } from '../../src/unsubscribe/page.js';
import { readOneClickBody, unsubscribeToken } from '../../src/redirector/unsubscribe-route.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('confirmation page', () => {
  it('escapes everything it shows and posts One-Click to the token path, without script', () => {
    const html = renderConfirmPage(BUILT_IN_CONFIRM_TEMPLATE, {
      list: '<script>alert(1)</script>"&\'',
      address: 'a"><img src=x>@example.com',
      action: '/u/TOKEN',
    });
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#39;');
    expect(html).toContain('<form method="post" action="/u/TOKEN">');
    expect(html).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect(html).toContain('<button type="submit">Unsubscribe</button>');
    expect(html).toContain('<html lang="en">');
    expect(renderDonePage('<b>', false)).toContain('&lt;b&gt;');
  });

  it('masks the address', () => {
    expect(maskAddress('jane.doe@example.com')).toBe('j******e@example.com');
    expect(maskAddress('ab@example.com')).toBe('a*@example.com');
    expect(maskAddress('a@example.com')).toBe('a*@example.com');
    expect(maskAddress('zoë@example.com')).toBe('z*ë@example.com');
  });

  it('templates per class; a template without a form is refused', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-page-'));
    dirs.push(dir);
    const good = path.join(dir, 'good.html');
    const bad = path.join(dir, 'bad.html');
    await writeFile(good, '<p>Leave {{list}} ({{address}})?</p>{{form}}');
    await writeFile(bad, '<p>no form here</p>');
    const templates = PageTemplates.load('', { promo: good });
    expect(renderConfirmPage(templates.forClass('promo'), { list: 'L', address: 'me@x.example', action: '/u/T' })).toMatch(
      /^<p>Leave L \(m\*@x\.example\)\?<\/p><form /,
    );
    expect(templates.forClass('other')).toBe(BUILT_IN_CONFIRM_TEMPLATE);
    expect(() => PageTemplates.load(bad, {})).toThrow(/neither \{\{form\}\} nor \{\{action\}\}/);
    expect(() => PageTemplates.load(path.join(dir, 'missing.html'), {})).toThrow(/cannot read tracking.unsubscribe_page/);
  });
});

describe('one-click request parsing', () => {
  it('finds the token of /u/TOKEN only', () => {
    expect(unsubscribeToken('/u/AbC_~9')).toBe('AbC_~9');
    expect(unsubscribeToken('/u/AbC?x=1')).toBe('AbC');
    for (const t of ['/u/', '/u/a/b', '/u/a-b', '/c/abc', '/u/%41', '/u/a b']) expect(unsubscribeToken(t)).toBeNull();
  });

  it('reads List-Unsubscribe=One-Click urlencoded and multipart, nothing else', () => {
    expect(readOneClickBody(Buffer.from('List-Unsubscribe=One-Click'), 'application/x-www-form-urlencoded')).toEqual({ oneClick: true, fromPage: false });
    expect(readOneClickBody(Buffer.from('List-Unsubscribe=One-Click&via=page'), undefined)).toEqual({ oneClick: true, fromPage: true });
    expect(readOneClickBody(Buffer.from('List-Unsubscribe=One-Click\r\n'), 'application/x-www-form-urlencoded').oneClick).toBe(true);
    const multipart = '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n';
    expect(readOneClickBody(Buffer.from(multipart), 'multipart/form-data; boundary=b').oneClick).toBe(true);
    for (const body of ['', 'List-Unsubscribe=one-click', 'List-Unsubscribe=', 'X=One-Click', 'List-Unsubscribe=One-Click2']) {
      expect(readOneClickBody(Buffer.from(body), 'application/x-www-form-urlencoded').oneClick).toBe(false);
    }
  });
});
