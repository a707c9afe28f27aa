// Builds what every email provider sends: an HTML and a text part, List-Unsubscribe headers, and, when the
// organization turns tracking on, an open pixel and click-tracking links in the HTML.
export interface EmailContentInput {
  subject: string;
  text: string;
  /** Rendered HTML (values already escaped); derived from the text when absent. */
  html?: string;
  /** The one-click unsubscribe URL (RFC 8058). */
  unsubscribeUrl?: string;
  unsubscribeMailto?: string;
  tracking?: {
    openUrl?: string;
    /** The tracked URL that redirects to `url`. */
    clickUrl?: (url: string) => string;
  };
}

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const decodeEntities = (text: string) =>
  text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** Plain text as HTML: escaped, paragraphs on blank lines, line breaks kept. */
export function textToHtml(text: string): string {
  const paragraphs = text
    .split(/\n{2,}/)
    .map((block) => `<p>${escapeHtml(block).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
  return `<!doctype html>\n<html><body>\n${paragraphs}\n</body></html>`;
}

export function composeEmail(input: EmailContentInput): EmailContent {
  let html = input.html ?? textToHtml(input.text);
  const { clickUrl, openUrl } = input.tracking ?? {};
  if (clickUrl) {
    html = html.replace(
      /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi,
      (whole, start: string, quote: string, href: string) => {
        const target = decodeEntities(href);
        if (target === input.unsubscribeUrl) return whole;
        return `${start}${quote}${escapeHtml(clickUrl(target))}${quote}`;
      },
    );
  }
  if (openUrl) {
    const pixel = `<img src="${escapeHtml(openUrl)}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`;
    html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${pixel}</body>`) : `${html}${pixel}`;
  }
  const headers: Record<string, string> = {};
  const targets = [
    input.unsubscribeUrl ? `<${input.unsubscribeUrl}>` : undefined,
    input.unsubscribeMailto ? `<mailto:${input.unsubscribeMailto}?subject=unsubscribe>` : undefined,
  ].filter(Boolean);
  if (targets.length > 0) headers['List-Unsubscribe'] = targets.join(', ');
  if (input.unsubscribeUrl) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  return { subject: input.subject, text: input.text, html, headers };
}
