//! Tier → look. The tier colours the banner, the window frame and the
//! accents, so production is never mistaken for anything else.

import { TIERS as TIER_VALUES, type Tier } from "../generated/bindings";

export type TierTheme = {
  /** Class on the app root that sets the tier's custom properties. */
  className: "tier-dev" | "tier-staging" | "tier-prod" | "tier-none";
  /** The word the banner shows. */
  label: string;
};

export function tierTheme(tier: Tier | null | undefined): TierTheme {
  switch (tier) {
    case "prod":
      return { className: "tier-prod", label: "PRODUCTION" };
    case "staging":
      return { className: "tier-staging", label: "Staging" };
    case "dev":
      return { className: "tier-dev", label: "Development" };
    default:
      return { className: "tier-none", label: "No profile" };
  }
}

const TIER_LABELS: Record<Tier, string> = {
  dev: "Development (dev)",
  staging: "Staging",
  prod: "Production (prod)",
};

/** Every tier core knows, in its order, with a label for pickers. */
export const TIERS: ReadonlyArray<{ value: Tier; label: string }> = TIER_VALUES.map((value) => ({
  value,
  label: TIER_LABELS[value],
}));

/** Light or dark: the OS's choice unless the user picked one in the window. */
export type ColorScheme = "system" | "light" | "dark";

export const COLOR_SCHEMES: ReadonlyArray<{ value: ColorScheme; label: string }> = [
  { value: "system", label: "System" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

/** Where the window remembers the choice (localStorage). */
export const COLOR_SCHEME_KEY = "opsdeck.colorScheme";

/** A stored choice, or "system" for anything else (nothing stored, an old or garbled value). */
export function parseColorScheme(stored: string | null | undefined): ColorScheme {
  return stored === "light" || stored === "dark" || stored === "system" ? stored : "system";
}

/** The look to draw: the choice, or the OS's when the choice is "system". */
export function resolveColorScheme(choice: ColorScheme, osPrefersDark: boolean): "light" | "dark" {
  if (choice === "system") return osPrefersDark ? "dark" : "light";
  return choice;
}
