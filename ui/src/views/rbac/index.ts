//! Registers the access view in the rail.

import { views } from "../registry";

views.register({
  id: "rbac",
  label: "Access",
  // A key.
  icon: "M8 15a4 4 0 1 1 0.01 0M11 12l9-9M17 6l3 3M15 8l2 2",
  order: 75,
  load: () => import("./RbacView.svelte"),
});
