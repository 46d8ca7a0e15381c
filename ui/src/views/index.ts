//! Every view of the window: importing this registers them all in the rail.
//! A new capability's view adds its line here.

import "./overview";
import "./tenants";
import "./alerts";
import "./backups";
import "./clusters";
import "./jobs";
import "./playbooks";
import "./incidents";
import "./audit";
import "./rbac";

export { views } from "./registry";
