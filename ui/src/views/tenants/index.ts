//! Registers the tenants view in the rail.

import { views } from "../registry";

views.register({
  id: "tenants",
  label: "Tenants",
  // A building.
  icon: "M4 21V5a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v16M16 9h2a2 2 0 0 1 2 2v10M2 21h20M8 7h4M8 11h4M8 15h4",
  order: 10,
  load: () => import("./TenantsScreen.svelte"),
});
