// computers: target groups (GET groups) and, once the client services exist on this server,
// computers and their compliance per group (GET computers, GET compliance). Until then the
// page says so instead of showing empty tables.
import * as api from "./api.js";
import { el, table, errorLine } from "./dom.js";

export async function render(root) {
  root.append(el("h1", { text: "Computers" }));
  try {
    const g = (await api.get("groups")).groups;
    root.append(el("h2", { text: "Groups" }), table("groups-table", [
      { title: "Group", cell: (x) => x.name + (x.builtin ? " (built-in)" : "") },
      { title: "Parent", cell: (x) => x.parent || "" },
      { title: "Approvals", cell: (x) => String(x.approvals) },
    ], g));
  } catch (e) {
    root.append(errorLine("groups-error", e));
  }
  root.append(el("h2", { text: "Computers and compliance" }));
  try {
    const c = await api.getOptional("computers");
    if (c === null) {
      root.append(el("p", { id: "computers", class: "muted",
        text: "Computers are not available on this server yet (the client services are not part of this wsusd)." }));
      return;
    }
    // TODO(client services): compliance per group as a chart once GET compliance exists.
    root.append(table("computers", [
      { title: "Computer", cell: (x) => x.name || x.id || "" },
      { title: "Group", cell: (x) => (x.groups || []).join(", ") },
      { title: "Last contact", cell: (x) => x.last_contact || "" },
    ], c.computers || []));
  } catch (e) {
    root.append(errorLine("computers-error", e));
  }
}
