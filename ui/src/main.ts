//! Entry point: mounts the window's single Svelte root.

import { mount } from "svelte";

import App from "./App.svelte";
import { mark } from "./lib/marks";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

mark("main");
const app = mount(App, { target });
mark("mounted");
export default app;
