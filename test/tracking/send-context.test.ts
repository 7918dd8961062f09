import { describe, expect, it } from 'vitest';
import { controlHeaderRemovals, resolveSend } from '../../src/tracking/send-context.js';
import { defaultConfig, type ConfigValues } from '../../src/config/load.js';
import type { HeaderField } from '../../src/milter/commands.js';

const env = (...rcpts: string[]) => ({
  from: { address: 'news@sender.example', args: [] },
  recipients: rcpts.map((address) => ({ address, args: [] })),
});
const h = (name: string, value: string): HeaderField => ({ name, value });
const config = (over: Partial<ConfigValues> = {}): ConfigValues => ({ ...defaultConfig(), ...over });

describe('resolveSend', () => {
  it('SendID is MailClass + InstanceID; ListID and email_code come from their headers', () => {
    const d = resolveSend(
      [
        h('X-GreenArrow-MailClass', 'a'),
        h('X-GreenArrow-InstanceID', '100525'),
        h('X-GreenArrow-ListID', 'list7'),
        h('X-GreenArrow-Click-Tracking-ID', 'sub-42'),
      ],
      env('reader@example.net'),
      config(),
    );
    expect(d.kind).toBe('track');
    if (d.kind !== 'track') return;
    expect(d.identity).toMatchObject({ sendId: 'a100525', listId: 'list7', emailCode: 'sub-42', mailClass: 'a', recipient: 'reader@example.net' });
  });

  it('with several recipients the recipient is empty and the list is kept, or the message is passed when configured', () => {
    const headers = [h('X-GreenArrow-MailClass', 'a')];
    const d = resolveSend(headers, env('x@example.net', 'y@example.net'), config());
    expect(d.kind === 'track' && d.identity.recipient).toBe('');
    expect(d.kind === 'track' && d.identity.recipients).toEqual(['x@example.net', 'y@example.net']);
    const skip = resolveSend(headers, env('x@example.net', 'y@example.net'), config({ 'tracking.multiple_recipients': 'skip' }));
    expect(skip).toMatchObject({ kind: 'pass', reason: 'multiple-recipients' });
  });

  it('precedence: X-MSYS-API options > mail class > global', () => {
    const cfg = config({ 'tracking.opens': true, 'tracking.clicks': true, classes: { b: { opens: false, domain: 'b.example.org' } } });
    const byClass = resolveSend([h('X-GreenArrow-MailClass', 'b')], env('r@example.net'), cfg);
    expect(byClass.kind === 'track' && byClass.settings).toMatchObject({ opens: false, clicks: true, domain: 'b.example.org' });
    const byHeader = resolveSend(
      [h('X-GreenArrow-MailClass', 'b'), h('X-MSYS-API', '{"options":{"open_tracking":true,"click_tracking":false},"campaign_id":"spring"}')],
      env('r@example.net'),
      cfg,
    );
    expect(byHeader.kind === 'track' && byHeader.settings).toMatchObject({ opens: true, clicks: false });
    const unknownClass = resolveSend([h('X-GreenArrow-MailClass', 'zz')], env('r@example.net'), cfg);
    expect(unknownClass.kind === 'track' && unknownClass.settings).toMatchObject({ opens: true, domain: '' });
  });

  it('X-MSYS-API campaign_id is the SendID when there are no GreenArrow headers; metadata is kept', () => {
    // Header values reach the filter as bytes in a latin1 string, as the milter carries them.
    const raw = Buffer.from('{"campaign_id":"spring","metadata":{"user":"ü"}}', 'utf8').toString('latin1');
    const d = resolveSend([h('X-MSYS-API', raw)], env('r@example.net'), config());
    expect(d.kind === 'track' && d.identity).toMatchObject({ sendId: 'spring', campaignId: 'spring', metadata: { user: 'ü' } });
  });

  it('reads a folded X-MSYS-API header and UTF-8 bytes in it', () => {
    const raw = Buffer.from('{"campaign_id":\n "café"}', 'utf8').toString('latin1');
    const d = resolveSend([h('X-MSYS-API', raw)], env('r@example.net'), config());
    expect(d.kind === 'track' && d.identity.sendId).toBe('café');
  });

  it('invalid X-MSYS-API JSON is refused with 550 5.6.0, or ignored when configured', () => {
    const headers = [h('X-MSYS-API', '{"options": {')];
    expect(resolveSend(headers, env('r@example.net'), config())).toMatchObject({ kind: 'reject', reply: expect.stringMatching(/^550 5\.6\.0 /) });
    expect(resolveSend(headers, env('r@example.net'), config({ 'headers.invalid_msys_api': 'ignore' })).kind).toBe('track');
    expect(resolveSend([h('X-MSYS-API', '[1,2]')], env('r@example.net'), config()).kind).toBe('reject');
  });

  it('untagged mail is tracked under the default class with an empty SendID, or passed when configured', () => {
    const d = resolveSend([h('Subject', 'hi')], env('r@example.net'), config());
    expect(d.kind === 'track' && d.identity.sendId).toBe('');
    expect(resolveSend([h('Subject', 'hi')], env('r@example.net'), config({ 'tracking.untagged': 'pass' }))).toMatchObject({
      kind: 'pass',
      reason: 'untagged',
    });
  });

  it('a sender domain maps to its tracking domain unless the class sets its own', () => {
    const cfg = config({ senderDomains: { 'sender.example': 'click.sender.example' }, classes: { own: { domain: 'own.example' } } });
    const plain = resolveSend([h('X-GreenArrow-MailClass', 'x')], env('r@example.net'), cfg);
    expect(plain.kind === 'track' && plain.settings.domain).toBe('click.sender.example');
    const own = resolveSend([h('X-GreenArrow-MailClass', 'own')], env('r@example.net'), cfg);
    expect(own.kind === 'track' && own.settings.domain).toBe('own.example');
  });

  it('control headers are removed (last occurrence first), unless configured to stay', () => {
    const headers = [h('X-GreenArrow-MailClass', 'a'), h('Subject', 's'), h('X-GreenArrow-ListID', 'l'), h('x-greenarrow-listid', 'l2'), h('X-MSYS-API', '{}')];
    const d = resolveSend(headers, env('r@example.net'), config());
    expect(d.kind === 'track' && d.removeHeaders).toEqual([
      { op: 'change', index: 1, name: 'X-GreenArrow-MailClass', value: '' },
      { op: 'change', index: 2, name: 'X-GreenArrow-ListID', value: '' },
      { op: 'change', index: 1, name: 'X-GreenArrow-ListID', value: '' },
      { op: 'change', index: 1, name: 'X-MSYS-API', value: '' },
    ]);
    const kept = resolveSend(headers, env('r@example.net'), config({ 'headers.remove_control': false }));
    expect(kept.kind === 'track' && kept.removeHeaders).toEqual([]);
    expect(controlHeaderRemovals([h('Subject', 'x'), h('X-Other', 'y')])).toEqual([]);
  });
});
