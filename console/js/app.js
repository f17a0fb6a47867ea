// app: login, navigation between the pages (location hash) and the page lifecycle. Each page
// module exports render(root) and may return a stop() function (to end its polling).
import * as api from "./api.js";
import { clear } from "./dom.js";
import * as overview from "./overview.js";
import * as updates from "./updates.js";
import * as computers from "./computers.js";
import * as downstreams from "./downstreams.js";
import * as history from "./history.js";
import * as settings from "./settings.js";

const pages = { overview, updates, computers, downstreams, history, settings };
let stopPage = null;

function show(loggedIn) {
  document.getElementById("login").hidden = loggedIn;
  document.getElementById("nav").hidden = !loggedIn;
  document.getElementById("logout").hidden = !loggedIn;
  document.getElementById("page").hidden = !loggedIn;
}

async function route() {
  const name = (location.hash || "#overview").slice(1);
  const page = pages[name] || overview;
  if (stopPage) stopPage();
  stopPage = null;
  for (const a of document.querySelectorAll("nav a"))
    a.classList.toggle("active", a.id === "nav-" + name);
  const root = clear(document.getElementById("page"));
  root.dataset.page = name;
  try {
    stopPage = (await page.render(root)) || null;
  } catch (e) {
    if (e.status === 401) {
      show(false);
      return;
    }
    root.append(document.createTextNode(e.message));
  }
}

async function start() {
  document.getElementById("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("login-error");
    out.textContent = "";
    try {
      await api.login(document.getElementById("login-token").value.trim());
      document.getElementById("login-token").value = "";
      show(true);
      route();
    } catch (e) {
      out.textContent = e.message;
    }
  });
  document.getElementById("logout").addEventListener("click", async () => {
    if (stopPage) stopPage();
    stopPage = null;
    await api.logout();
    clear(document.getElementById("page"));
    show(false);
  });
  window.addEventListener("hashchange", route);
  const ok = await api.resume();
  show(ok);
  if (ok) route();
}

start();
