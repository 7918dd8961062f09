/** Who a message went to and which send it belongs to: the fields stateless links and the info header carry. */
import type { ByteReader, ByteWriter } from './binary.js';

export interface RecipientIdentity {
  recipient: string;
  /** MailClass + InstanceID, e.g. `a100525`. */
  sendId: string;
  listId: string;
  /** X-GreenArrow-Click-Tracking-ID. */
  emailCode: string;
}

export function writeIdentity(writer: ByteWriter, identity: RecipientIdentity): ByteWriter {
  return writer.string(identity.recipient).string(identity.sendId).string(identity.listId).string(identity.emailCode);
}

export function readIdentity(reader: ByteReader): RecipientIdentity {
  return { recipient: reader.string(), sendId: reader.string(), listId: reader.string(), emailCode: reader.string() };
}
