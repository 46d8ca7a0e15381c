//! Registers the alerts view in the rail.

import { views } from "../registry";

views.register({
  id: "alerts",
  label: "Alerts",
  // A bell.
  icon: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20.5a2 2 0 0 0 4 0",
  order: 20,
  load: () => import("./AlertsView.svelte"),
});
