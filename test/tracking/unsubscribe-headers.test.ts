import { describe, expect, it } from 'vitest';
import { planUnsubscribeHeaders, unsubscribeMailto, type UnsubscribeHeaderInput } from '../../src/tracking/unsubscribe-headers.js';

const base: UnsubscribeHeaderInput = {
  headers: [{ name: 'Subject', value: 'news' }],
  policy: 'missing',
  listId: 'list-1',
  recipientCount: 1,
  origin: { scheme: 'https', domain: 't.example.org' },
  mailto: '',
  mintToken: () => 'TOKEN',
};

describe('planUnsubscribeHeaders', () => {
  it('adds both headers (RFC 2369, RFC 8058) with the one-click URL', () => {
    const plan = planUnsubscribeHeaders(base);
    expect(plan.note).toBe('added');
    expect(plan.changes).toEqual([
      { op: 'add', name: 'List-Unsubscribe', value: '<https://t.example.org/u/TOKEN>' },
      { op: 'add', name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ]);
  });

  it('offers mailto: too when an address is configured', () => {
    const plan = planUnsubscribeHeaders({ ...base, mailto: 'unsub@news.example' });
    expect(plan.changes[0]).toEqual({
      op: 'add',
      name: 'List-Unsubscribe',
      value: '<https://t.example.org/u/TOKEN>, <mailto:unsub+TOKEN@news.example?subject=unsubscribe>',
    });
  });

  it('puts a token too long for a local part in the subject', () => {
    const long = 'T'.repeat(80);
    expect(unsubscribeMailto('unsub@news.example', long)).toBe(`mailto:unsub@news.example?subject=unsubscribe%20${long}`);
  });

  it("keeps a message's own List-Unsubscribe by default, replaces it when told to", () => {
    const headers = [
      { name: 'list-unsubscribe', value: '<https://sender.example/u/1>' },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
      { name: 'LIST-UNSUBSCRIBE', value: '<mailto:x@sender.example>' },
    ];
    let minted = 0;
    const kept = planUnsubscribeHeaders({ ...base, headers, mintToken: () => `T${++minted}` });
    expect(kept).toEqual({ changes: [], note: 'kept-own' });
    expect(minted).toBe(0);
    const replaced = planUnsubscribeHeaders({ ...base, headers, policy: 'replace' });
    expect(replaced.note).toBe('replaced');
    expect(replaced.changes).toEqual([
      { op: 'change', index: 2, name: 'list-unsubscribe', value: '' },
      { op: 'change', index: 1, name: 'list-unsubscribe', value: '' },
      { op: 'change', index: 1, name: 'List-Unsubscribe-Post', value: '' },
      { op: 'add', name: 'List-Unsubscribe', value: '<https://t.example.org/u/TOKEN>' },
      { op: 'add', name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ]);
  });

  it('adds nothing when off, without a ListID, with several recipients, or without a token', () => {
    expect(planUnsubscribeHeaders({ ...base, policy: 'off' })).toEqual({ changes: [], note: 'off' });
    expect(planUnsubscribeHeaders({ ...base, listId: '' })).toEqual({ changes: [], note: 'no-list' });
    expect(planUnsubscribeHeaders({ ...base, recipientCount: 2 })).toEqual({ changes: [], note: 'multiple-recipients' });
    expect(planUnsubscribeHeaders({ ...base, mintToken: () => null })).toEqual({ changes: [], note: 'no-token' });
    expect(planUnsubscribeHeaders({ ...base, mintToken: () => 'x'.repeat(1000) })).toEqual({ changes: [], note: 'too-long' });
  });
});
