// computers: target groups (GET groups) with their compliance as a picture (GET report per
// group: a bar of the approved update/computer pairs installed, needed and failed, and one of
// the group's computers reporting and not reporting), the Windows computers that use this
// server with their update status (GET computers), and moving one to another group (POST
// computers/move). A server without the client services says so.
import * as api from "./api.js";
import { el, svg, table, errorLine } from "./dom.js";

const BAR_W = 420, BAR_H = 16, ROW_H = 58, LABEL_W = 190;

// One stacked bar: parts [{n, cls, label}] scaled to their sum (an empty bar when 0).
function bar(x, y, parts) {
  const total = parts.reduce((s, p) => s + p.n, 0);
  const out = [svg("rect", { x, y, width: BAR_W, height: BAR_H, class: "bar-empty" })];
  let at = x;
  for (const p of parts) {
    if (total === 0 || p.n === 0) continue;
    const w = (BAR_W * p.n) / total;
    out.push(svg("rect", { x: at, y, width: w, height: BAR_H, class: p.cls },
      svg("title", { text: p.label + ": " + p.n })));
    at += w;
  }
  return out;
}

// Totals of GET report for one group: sums over its updates.
function totals(r) {
  const t = { installed: 0, needed: 0, failed: 0, approved: 0 };
  for (const u of r.updates) for (const k of Object.keys(t)) t[k] += u[k];
  return { ...t, computers: r.computers, not_reporting: r.not_reporting, stale_days: r.stale_days };
}

function complianceChart(rows) {
  const height = rows.length * ROW_H + 10, width = LABEL_W + BAR_W + 20;
  const parts = rows.map(({ group, t }, i) => {
    const y = 8 + i * ROW_H;
    return svg("g", { class: "compliance-row", id: "compliance-" + i, "data-group": group.name },
      svg("text", { x: 0, y: y + 12, class: "label", text: group.name }),
      bar(LABEL_W, y, [
        { n: t.installed, cls: "bar-installed", label: "installed" },
        { n: t.needed, cls: "bar-needed", label: "needed" },
        { n: t.failed, cls: "bar-failed", label: "failed" }]),
      svg("text", { x: LABEL_W, y: y + BAR_H + 12, class: "small compliance-updates",
        text: t.installed + " installed, " + t.needed + " needed, " + t.failed + " failed of " +
          t.approved + " approved update/computer pairs" }),
      bar(LABEL_W, y + BAR_H + 18, [
        { n: t.computers - t.not_reporting, cls: "bar-reporting", label: "reporting" },
        { n: t.not_reporting, cls: "bar-silent", label: "not reporting" }]).map((r) => {
        r.setAttribute("height", BAR_H / 2);
        return r;
      }),
      svg("text", { x: 0, y: y + BAR_H + 26, class: "small compliance-computers",
        text: t.computers + " computer(s), " + t.not_reporting + " not reporting" }));
  });
  return el("figure", { class: "chart" },
    svg("svg", { id: "compliance", width, height, viewBox: "0 0 " + width + " " + height }, parts),
    el("figcaption", { class: "muted", text: "Green installed, amber needed, red failed (approved updates " +
      "times computers); below, computers reporting (blue) and not reporting for " +
      (rows.length ? rows[0].t.stale_days : 30) + " days or never (grey)." }));
}

// The groups computers can be in ("Downstream Servers" holds servers, not computers).
const computerGroups = (groups) => groups.filter((g) => g.name !== "Downstream Servers");

// Draw the compliance picture into box; false when the server has no GET report.
async function compliance(box, groups) {
  const reports = [];
  for (const g of groups) {
    const r = await api.getOptional("report", { group: g.name });
    if (r === null) return false;
    reports.push({ group: g, t: totals(r) });
  }
  box.replaceChildren(complianceChart(reports));
  return true;
}

export async function render(root) {
  root.append(el("h1", { text: "Computers" }));
  let groups = [];
  try {
    groups = (await api.get("groups")).groups;
    root.append(el("h2", { text: "Groups" }), table("groups-table", [
      { title: "Group", cell: (x) => x.name + (x.builtin ? " (built-in)" : "") },
      { title: "Parent", cell: (x) => x.parent || "" },
      { title: "Approvals", cell: (x) => String(x.approvals) },
    ], groups));
  } catch (e) {
    root.append(errorLine("groups-error", e));
  }
  const list = el("div", { id: "computers-list" });
  const msg = el("p", { id: "computers-msg" });
  const chartBox = el("div", { id: "compliance-box" });
  const heading = el("h2", { text: "Compliance per group" });
  root.append(heading, chartBox);
  try {
    if (!(await compliance(chartBox, computerGroups(groups)))) {
      heading.remove();
      chartBox.remove();
      root.append(el("p", { id: "computers", class: "muted",
        text: "Computers are not available on this server yet (the client services are not part of this wsusd)." }));
      return;
    }
  } catch (e) {
    chartBox.append(errorLine("compliance-error", e));
  }
  const targets = computerGroups(groups).filter((g) => g.name !== "All Computers");
  // one page of PAGE computers at a time (GET computers pages on the server), of one group or
  // of all (this server's, then those the servers below rolled up)
  const PAGE = 50;
  const state = { offset: 0, gen: 0 };
  const groupPick = el("select", { id: "comp-group", "aria-label": "group" },
    [el("option", { value: "", text: "All computers" })].concat(
      targets.map((g) => el("option", { value: g.name, text: g.name }))));
  groupPick.addEventListener("change", () => { state.offset = 0; load(); });
  root.append(el("h2", { text: "Computers" }), el("div", { class: "toolbar" },
    el("label", { for: "comp-group", text: "Group " }), groupPick), msg, list);

  async function load() {
    const gen = ++state.gen;
    let c;
    try {
      const q = { limit: PAGE, offset: state.offset };
      if (groupPick.value) q.group = groupPick.value;
      c = await api.get("computers", q);
      if (gen !== state.gen) return; // a newer page was asked for meanwhile
    } catch (e) {
      list.replaceChildren(errorLine("computers-error", e));
      return;
    }
    list.replaceChildren();
    const last = state.offset + c.count;
    list.append(el("p", { id: "comp-count", text: c.total === 0 ? "No computer." :
      "Computers " + (state.offset + 1) + " to " + last + " of " + c.total }));
    list.append(table("computers", [
      { title: "Computer", cell: (x) => x.name || x.id || "" },
      { title: "Groups", cell: (x) => x.groups || "" },
      { title: "OS", cell: (x) => x.os_description || x.os_version || "" },
      { title: "Last contact", cell: (x) => x.last_contact || "" },
      { title: "Installed / failed", cell: (x) => (x.updates ? x.updates.installed + " / " + x.updates.failed : "") },
      { title: "Move to", cell: (x) => {
        const pick = el("select", { class: "move-group", "aria-label": "group for " + (x.name || x.id) },
          targets.map((g) => el("option", { value: g.name, text: g.name })));
        return [pick, el("button", { type: "button", class: "move", "data-id": x.id, text: "Move",
          onclick: async () => {
            msg.className = "";
            try {
              const r = await api.post("computers/move", { computer: x.id, group: pick.value });
              msg.className = "ok";
              msg.textContent = "Moved " + (x.name || x.id) + " to " + r.group + " (" + r.note + ").";
              await load();
              await compliance(chartBox, computerGroups(groups));
            } catch (e) {
              msg.className = "error";
              msg.textContent = e.message;
            }
          } })];
      } },
    ], c.computers || [], (x) => ({ "data-id": x.id })),
    el("div", { class: "toolbar" },
      el("button", { id: "comp-prev", type: "button", text: "Previous", disabled: state.offset === 0,
        onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); } }),
      el("button", { id: "comp-next", type: "button", text: "Next", disabled: last >= c.total,
        onclick: () => { state.offset += PAGE; load(); } })));
  }
  await load();
}
