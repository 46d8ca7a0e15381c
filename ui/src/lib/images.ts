//! Chart images for `<img>`: object URLs that are revoked once replaced.

/**
 * Each panel's SVG as an image URL: shown by `<img>`, which runs no script
 * in it. A panel keeps its URL while its drawing is the same, and the URL
 * of a drawing replaced is revoked, so WebKit lets go of the image it
 * decoded (a data URL per refresh kept every past chart in the page).
 */
export class ImageUrls {
  #urls = new Map<string, { svg: string; url: string }>();

  url(key: string, svg: string): string {
    const had = this.#urls.get(key);
    if (had?.svg === svg) return had.url;
    if (had) URL.revokeObjectURL(had.url);
    const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    this.#urls.set(key, { svg, url });
    return url;
  }

  /** Revokes every URL: the view is gone. */
  clear(): void {
    for (const { url } of this.#urls.values()) URL.revokeObjectURL(url);
    this.#urls.clear();
  }

  get size(): number {
    return this.#urls.size;
  }
}
