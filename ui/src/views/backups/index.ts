//! Registers the backups view in the rail.

import { views } from "../registry";

views.register({
  id: "backups",
  label: "Backups",
  // A database cylinder with an arrow coming back.
  icon: "M5 6c0-1.7 3.1-3 7-3s7 1.3 7 3-3.1 3-7 3-7-1.3-7-3zM5 6v6c0 1.7 3.1 3 7 3M19 6v4M5 12v6c0 1.7 3.1 3 7 3M15 17a3 3 0 1 0 3-3h-2l1.5-1.5",
  order: 30,
  load: () => import("./BackupsView.svelte"),
});
