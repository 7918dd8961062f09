/** A deliberately plain quoted-printable encoder for building test and fuzz inputs (not the one under test). */
export function plainQuotedPrintable(data: Buffer): string {
  return data
    .toString('latin1')
    .split(/\r?\n/)
    .map((line) => {
      const escaped = line.replace(/[^\x20-\x3c\x3e-\x7e]|[ \t]$/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
      const out: string[] = [];
      let rest = escaped;
      while (rest.length > 75) {
        let cut = 75;
        // Never split an =XX escape.
        const eq = rest.lastIndexOf('=', cut - 1);
        if (eq > cut - 3) cut = eq;
        out.push(rest.slice(0, cut) + '=');
        rest = rest.slice(cut);
      }
      out.push(rest);
      return out.join('\r\n');
    })
    .join('\r\n');
}
