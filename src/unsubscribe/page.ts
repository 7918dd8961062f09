// The unsubscribe pages: the confirmation page a GET shows (one button that POSTs, no script), and the
// answers to the POST. Every value shown is HTML-escaped; the form's action is our own /u/TOKEN path,
// never anything taken from the request, so the page cannot send anyone elsewhere.
import { readFileSync } from 'node:fs';
import { CodedError } from '../util/errors.js';
import { ConfigErrorCode } from '../config/errors.js';

/** The form field RFC 8058's POST carries; the page's button sends the same. */
export const ONE_CLICK_FIELD = 'List-Unsubscribe';
export const ONE_CLICK_VALUE = 'One-Click';
/** A hidden field the page's form adds, so the event can say the person used the page (source 'page'). */
export const PAGE_FIELD = 'via';

interface PageValues {
  list: string;
  address: string;
  /** The path the form posts to: `/u/TOKEN`. */
  action: string;
}

const PLACEHOLDER = /\{\{(list|address|action|form)\}\}/g;

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.5;color:#111;background:#fff}' +
  'button{font-size:1.1em;padding:.6em 1.4em;border:2px solid #111;border-radius:4px;background:#fff;color:#111;cursor:pointer}' +
  'button:focus{outline:3px solid #0a58ca;outline-offset:2px}';

function page(title: string, body: string): string {
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta name="robots" content="noindex"><title>${title}</title><style>${STYLE}</style></head>\n` +
    `<body><main>\n${body}\n</main></body></html>\n`
  );
}

export const BUILT_IN_CONFIRM_TEMPLATE = page(
  'Unsubscribe',
  '<h1>Unsubscribe</h1>\n' +
    '<p>Stop receiving the list <strong>{{list}}</strong> at <strong>{{address}}</strong>?</p>\n' +
    '{{form}}\n' +
    '<p>Nothing changes unless you press the button.</p>',
);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** `jane.doe@example.com` -> `j******e@example.com`: enough for its owner to recognise, not to harvest. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  const local = at === -1 ? address : address.slice(0, at);
  const domain = at === -1 ? '' : address.slice(at);
  const chars = [...local];
  const shown =
    chars.length <= 2
      ? `${chars[0] ?? ''}${'*'.repeat(Math.max(1, chars.length - 1))}`
      : `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`;
  return shown + domain;
}

function form(action: string): string {
  return (
    `<form method="post" action="${escapeHtml(action)}">` +
    `<input type="hidden" name="${ONE_CLICK_FIELD}" value="${ONE_CLICK_VALUE}">` +
    `<input type="hidden" name="${PAGE_FIELD}" value="page">` +
    '<button type="submit">Unsubscribe</button></form>'
  );
}

/** Fills a template: every value escaped, {{form}} our form, {{action}} the escaped path. */
export function renderConfirmPage(template: string, values: PageValues): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    switch (name) {
      case 'list':
        return escapeHtml(values.list);
      case 'address':
        return escapeHtml(maskAddress(values.address));
      case 'action':
        return escapeHtml(values.action);
      default:
        return form(values.action);
    }
  });
}

export function renderDonePage(list: string, already: boolean): string {
  const text = already ? 'was already unsubscribed from' : 'is now unsubscribed from';
  return page('Unsubscribed', `<h1>Unsubscribed</h1>\n<p>This address ${text} the list <strong>${escapeHtml(list)}</strong>.</p>`);
}

export const BAD_REQUEST_PAGE = page(
  'Not an unsubscribe request',
  '<h1>Not an unsubscribe request</h1>\n<p>This request did not ask to unsubscribe (RFC 8058: List-Unsubscribe=One-Click). Nothing was changed.</p>',
);

export const TRY_LATER_PAGE = page(
  'Please try again later',
  '<h1>Please try again later</h1>\n<p>Your request could not be recorded just now. Nothing was changed yet; please try again in a minute.</p>',
);

/** Reads a class's template file; refuses one without a form (its page could not unsubscribe anyone). */
function loadTemplate(file: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CodedError(ConfigErrorCode.INVALID, `cannot read ${key} ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!text.includes('{{form}}') && !text.includes('{{action}}')) {
    throw new CodedError(ConfigErrorCode.INVALID, `${key} ${file} has neither {{form}} nor {{action}}: its page could not unsubscribe anyone`);
  }
  return text;
}

/** Templates by mail class ('' the default class), read once at start. */
export class PageTemplates {
  private constructor(
    private readonly byClass: ReadonlyMap<string, string>,
    private readonly fallback: string,
  ) {}

  static load(defaultFile: string, classFiles: Record<string, string | undefined>): PageTemplates {
    const fallback = defaultFile ? loadTemplate(defaultFile, 'tracking.unsubscribe_page') : BUILT_IN_CONFIRM_TEMPLATE;
    const byClass = new Map<string, string>();
    for (const [name, file] of Object.entries(classFiles)) {
      if (file) byClass.set(name, loadTemplate(file, `classes.${name}.unsubscribe_page`));
    }
    return new PageTemplates(byClass, fallback);
  }

  forClass(mailClass: string): string {
    return this.byClass.get(mailClass) ?? this.fallback;
  }
}
