// Links read back the way the redirector reads them: through its own route parser, with the token
// syntax the daemon gives it.
import { isTokenText } from '../../src/tokens/token-text.js';
import { createRouteParser } from '../../src/redirector/routes.js';

const parser = createRouteParser({ tokenSyntax: (token) => isTokenText(token) });

export interface ParsedLinkPath {
  route: 'click' | 'open';
  style: 'compact' | 'path';
  token: string;
  /** From the `?` on, or ''. */
  query: string;
}

export function parseLinkPath(target: string): ParsedLinkPath | null {
  const parsed = parser(target);
  if (parsed.type !== 'link') return null;
  const { kind, style, token, query } = parsed.route;
  return { route: kind, style, token, query: target.includes('?') ? `?${query}` : '' };
}
