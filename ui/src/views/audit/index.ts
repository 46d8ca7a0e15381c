//! Registers the audit view in the rail.

import { views } from "../registry";

views.register({
  id: "audit",
  label: "Audit",
  // A page with lines and a check mark.
  icon: "M6 3h9l3 3v15H6zM9 9h6M9 13h6M9 17l2 2 4-4",
  order: 70,
  load: () => import("./AuditView.svelte"),
});
