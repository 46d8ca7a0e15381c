//! Small facts about the machine the window runs on.

export function isMac(platform: string = typeof navigator === "undefined" ? "" : navigator.platform): boolean {
  return /mac|iphone|ipad/i.test(platform);
}

/** "⌘K" on macOS, "Ctrl K" elsewhere. */
export function paletteShortcutLabel(platform?: string): string {
  return isMac(platform) ? "⌘K" : "Ctrl K";
}

/** True when a key press belongs to a text field, so single-key shortcuts must leave it alone. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}
