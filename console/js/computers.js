// computers: target groups (GET groups), the Windows computers that use this server with
// their update status (GET computers). A server without the client services says so.
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
    root.append(table("computers", [
      { title: "Computer", cell: (x) => x.name || x.id || "" },
      { title: "Groups", cell: (x) => x.groups || "" },
      { title: "OS", cell: (x) => x.os_description || x.os_version || "" },
      { title: "Last contact", cell: (x) => x.last_contact || "" },
      { title: "Installed / failed", cell: (x) => (x.updates ? x.updates.installed + " / " + x.updates.failed : "") },
    ], c.computers || []));
  } catch (e) {
    root.append(errorLine("computers-error", e));
  }
}
