//! Registers the Overview in the rail: the first view, the one a new window
//! opens on.

import { views } from "../registry";
import OverviewView from "./OverviewView.svelte";

views.register({
  id: "overview",
  label: "Overview",
  // A pulse line.
  icon: "M3 12h4l3-8 4 16 3-8h4",
  order: 5,
  component: OverviewView,
});
