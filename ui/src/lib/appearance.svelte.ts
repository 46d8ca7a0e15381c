//! The window's light or dark look: the user's choice (system, light, dark),
//! remembered in localStorage, and the OS's preference while it is "system".
//! It sets `data-theme` on the root element; app.css draws from that.

import { COLOR_SCHEME_KEY, parseColorScheme, resolveColorScheme, type ColorScheme } from "./theme";

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    // Storage can be refused (a locked-down WebView): the choice then lasts the session.
    return null;
  }
}

export class Appearance {
  choice = $state<ColorScheme>("system");
  osPrefersDark = $state(false);
  readonly resolved = $derived(resolveColorScheme(this.choice, this.osPrefersDark));

  /** Reads the stored choice and follows the OS's preference; returns the stop function. */
  start(): () => void {
    this.choice = parseColorScheme(storage()?.getItem(COLOR_SCHEME_KEY));
    if (typeof matchMedia === "undefined") return () => {};
    const query = matchMedia("(prefers-color-scheme: dark)");
    this.osPrefersDark = query.matches;
    const onchange = (e: MediaQueryListEvent) => (this.osPrefersDark = e.matches);
    query.addEventListener("change", onchange);
    return () => query.removeEventListener("change", onchange);
  }

  set(choice: ColorScheme): void {
    this.choice = choice;
    try {
      storage()?.setItem(COLOR_SCHEME_KEY, choice);
    } catch {
      // Full or refused storage: keep the choice for this session only.
    }
  }
}

export const appearance = new Appearance();
