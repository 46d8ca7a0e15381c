//! Registers the clusters view in the rail.

import { views } from "../registry";

views.register({
  id: "clusters",
  label: "Clusters",
  // A primary above two replicas.
  icon: "M9 3h6v5H9zM3 16h6v5H3zM15 16h6v5h-6zM12 8v4M6 16v-4h12v4",
  order: 40,
  load: () => import("./ClustersView.svelte"),
});
