// What the messages tracked on one thread share: the tracking hosts worked out from the config, and
// what a send's copies would otherwise each work out again (row ids, URL verdicts).
import { UrlVerdictCache } from '../rewrite/url-verdict-cache.js';
import { RowIdCache } from './message-minter.js';

export class TrackingCaches {
  readonly rowIds = new RowIdCache();
  /** Verdicts depend on the tracking hosts: kept beside the hosts they were reached with. */
  readonly urlVerdicts = new UrlVerdictCache();

  constructor(readonly hosts: ReadonlySet<string>) {}
}
