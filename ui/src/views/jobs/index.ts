//! Registers the jobs view in the rail.

import { views } from "../registry";

views.register({
  id: "jobs",
  label: "Jobs",
  // A list with a clock.
  icon: "M4 6h9M4 12h6M4 18h6M17 11a5 5 0 1 0 0.01 0M17 14v2l1.5 1",
  order: 50,
  load: () => import("./JobsView.svelte"),
});
