/**
 * Finds the top text/html and the top text/plain part: the first of each reached, depth first,
 * from the root through the multipart containers that were split. Attachments are passed over;
 * message/* and unsplit containers are never looked into.
 */
import type { Entity } from './entity.js';
import type { PartKind } from './types.js';

export interface Candidate {
  kind: PartKind;
  entity: Entity;
}

const KIND_OF_TYPE: Record<string, PartKind> = { 'text/html': 'html', 'text/plain': 'text' };

export function locateTopParts(root: Entity): Candidate[] {
  const found = new Map<PartKind, Entity>();
  const visit = (entity: Entity): void => {
    if (found.size === 2) return;
    if (entity.children.length > 0) {
      entity.children.forEach(visit);
      return;
    }
    const kind = KIND_OF_TYPE[entity.info.type];
    if (kind && !entity.info.isAttachment && !found.has(kind)) found.set(kind, entity);
  };
  visit(root);
  return [...found].map(([kind, entity]) => ({ kind, entity })).sort((a, b) => a.entity.content.start - b.entity.content.start);
}
