/** The Postfix lab's maillog counts, on maillog lines as Postfix writes them (no Postfix needed). */
import { describe, expect, it } from 'vitest';
import { countMaillog } from './postfix-lab.js';

const line = (queueId: string, rest: string) => `Dec 07 03:34:06 lab postfix/smtp[411]: ${queueId}: ${rest}`;
const sent = (queueId: string, to: string) => line(queueId, `to=<${to}>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.01, dsn=2.0.0, status=sent (250 Ok)`);
const removed = (queueId: string) => `Dec 07 03:34:06 lab postfix/qmgr[373]: ${queueId}: removed`;

describe('countMaillog', () => {
  it('counts a message to several recipients once', () => {
    const log = [sent('1B3BD20EE6C', 'a@x.example'), sent('1B3BD20EE6C', 'b@x.example'), removed('1B3BD20EE6C')].join('\n');
    expect(countMaillog(log).sent).toBe(1);
  });

  it('counts a queue id that comes back after its message was removed as a new message', () => {
    const log = [
      sent('412A320F184', 'a@x.example'),
      removed('412A320F184'),
      sent('3F98620F083', 'a@x.example'),
      removed('3F98620F083'),
      sent('412A320F184', 'c@x.example'),
    ].join('\n');
    expect(countMaillog(log).sent).toBe(3);
  });

  it('counts deferrals, bounces and milter rejections by line', () => {
    const log = [
      line('AAA1', 'to=<a@x.example>, relay=none, delay=1, dsn=4.4.1, status=deferred (connect refused)'),
      line('AAA1', 'to=<b@x.example>, relay=none, delay=1, dsn=5.1.1, status=bounced (unknown user)'),
      'Dec 07 03:34:06 lab postfix/cleanup[380]: AAA2: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.1 Try again later',
    ].join('\n');
    expect(countMaillog(log)).toEqual({ sent: 0, deferred: 1, bounced: 1, milterRejects: 1 });
  });
});
