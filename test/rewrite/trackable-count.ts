// An independent count of trackable links, from parse5's tree builder rather than the tokenizer the
// rewriter uses: what the rewriter reports must match it.
import { parse, parseFragment, type DefaultTreeAdapterTypes as T } from 'parse5';
import { TRACKING_HOST } from './recording-minter.js';

const LINK_TAGS = new Set(['a', 'area', 'v:roundrect', 'v:rect']);
const OPT_OUT = /^(data-notrack|data-mautic-disable-tracking)$/i;

function isTrackableHref(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (!/^\s*https?:\/\//i.test(value)) return false; // `http:foo` parses, but is not an absolute link
  if (url.hostname === '' || url.hostname.toLowerCase() === TRACKING_HOST) return false;
  let decoded = value;
  try {
    decoded = decodeURI(value);
  } catch {
    // malformed percent-encoding: judge the text as it is
  }
  return !['{{', '{%', '*|', '%%', '[[', '${'].some((mark) => decoded.includes(mark));
}

function isOptedOut(element: T.Element): boolean {
  return element.attrs.some(
    (a) =>
      OPT_OUT.test(a.name) ||
      (a.name === 'data-msys-clicktrack' && a.value.trim() === '0') ||
      (a.name === 'clicktracking' && a.value.trim().toLowerCase() === 'off'),
  );
}

export interface Counts {
  elements: number;
  inComments: number;
}

function countTrackable(node: T.ParentNode, counts: Counts, insideComment: boolean): void {
  for (const child of node.childNodes) {
    if (child.nodeName === '#comment') {
      const data = (child as T.CommentNode).data;
      if (!insideComment && /^\[if\b/i.test(data)) countTrackable(parseFragment(data), counts, true);
      continue;
    }
    if (!('tagName' in child)) continue;
    const element = child;
    const href = element.attrs.find((a) => a.name === 'href');
    if (LINK_TAGS.has(element.tagName) && href && !isOptedOut(element) && isTrackableHref(href.value)) {
      if (insideComment) counts.inComments++;
      else counts.elements++;
    }
    countTrackable(element, counts, insideComment);
    if (element.tagName === 'template') countTrackable((element as T.Template).content, counts, insideComment);
  }
}

export function countTrackableLinks(html: string): Counts {
  const counts: Counts = { elements: 0, inComments: 0 };
  countTrackable(parse(html), counts, false);
  return counts;
}
