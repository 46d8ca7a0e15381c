//! Registers the playbooks view in the rail.

import { approvals, playbooks } from "../../lib/stores/app";
import { views } from "../registry";

views.register({
  id: "playbooks",
  label: "Playbooks",
  // A list of steps with a play mark.
  icon: "M4 5h10M4 10h10M4 15h6M15 14l5 3-5 3z",
  order: 60,
  load: () => import("./PlaybooksView.svelte"),
  // The approvals inbox: runs waiting on an approval, and the two-person
  // rule's requests waiting for a second person.
  badge: () => playbooks.inbox.length + approvals.pending.length,
});
