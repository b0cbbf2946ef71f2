/**
 * Split a README into its `## ` sections (headings inside code fences are not headings),
 * and make a section safe to embed in a VitePress page.
 */

/** Section title -> body (without the heading line), in README order. */
export function splitSections(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  let title: string | null = null;
  let body: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    if (title !== null) sections.set(title, body.join('\n').trim());
  };
  for (const line of markdown.split(/\r?\n/)) {
    const fenceMatch = /^\s*(```+|~~~+)/.exec(line);
    if (fenceMatch) {
      if (fence === null) fence = fenceMatch[1];
      else if (line.trim().startsWith(fence)) fence = null;
    }
    const heading = fence === null ? /^##\s+(.+?)\s*#*\s*$/.exec(line) : null;
    if (heading) {
      flush();
      title = heading[1];
      body = [];
    } else if (title !== null) {
      body.push(line);
    }
  }
  flush();
  return sections;
}

/** The first section whose title matches, or undefined. */
export function findSection(sections: Map<string, string>, pattern: RegExp): string | undefined {
  for (const [title, body] of sections) if (pattern.test(title)) return body;
  return undefined;
}

/**
 * Links relative to a package folder mean nothing on the site: keep their text and drop the
 * target (absolute http(s) links and in-page anchors stay).
 */
export function dropRelativeLinks(markdown: string): string {
  return markdown.replace(/(!?)\[([^\]]*)\]\(([^)\s]+)(\s+"[^"]*")?\)/g, (whole, _bang: string, text: string, target: string) =>
    /^(https?:|mailto:|#)/.test(target) ? whole : text,
  );
}

/** Demote headings so an embedded section nests under the page's own `##` headings. */
export function demoteHeadings(markdown: string, by = 1): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const fenceMatch = /^\s*(```+|~~~+)/.exec(line);
      if (fenceMatch) {
        if (fence === null) fence = fenceMatch[1];
        else if (line.trim().startsWith(fence)) fence = null;
      }
      return fence === null && /^#{1,5}\s/.test(line) ? '#'.repeat(by) + line : line;
    })
    .join('\n');
}

/**
 * README prose is not Vue template code: `{{ … }}` would be interpolated. A `v-pre`
 * container renders the markdown but tells Vue not to compile it.
 */
export function embed(markdown: string): string {
  return `::: v-pre\n${demoteHeadings(dropRelativeLinks(markdown), 1)}\n:::`;
}
