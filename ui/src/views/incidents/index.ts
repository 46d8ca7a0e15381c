//! Registers the incidents view in the rail.

import { views } from "../registry";

views.register({
  id: "incidents",
  label: "Incidents",
  // A flag on a pole.
  icon: "M5 21V4M5 4h11l-2 4 2 4H5",
  order: 65,
  load: () => import("./IncidentsView.svelte"),
});
