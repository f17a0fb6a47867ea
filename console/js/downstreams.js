// downstreams: this server and the downstream servers that synchronize from it, as a tree
// (SVG) and a table with each one's last contact and last synchronization.
import * as api from "./api.js";
import { el, svg, when, table } from "./dom.js";

const BOX_W = 230, BOX_H = 46, GAP = 16;

function node(x, y, lines, cls, id) {
  return svg("g", { id, class: "node" },
    svg("rect", { x, y, width: BOX_W, height: BOX_H, rx: 4, class: cls }),
    lines.map((t, i) => svg("text", { x: x + 8, y: y + 15 + i * 13, text: t })));
}

function tree(self, rows) {
  const n = Math.max(1, rows.length);
  const width = Math.max(BOX_W + 2 * GAP, n * (BOX_W + GAP) + GAP);
  const height = rows.length ? 2 * BOX_H + 80 : BOX_H + 2 * GAP;
  const rootX = (width - BOX_W) / 2, childY = BOX_H + 60 + GAP;
  const parts = [node(rootX, GAP, ["This server", self.server_id, "wsusd " + self.version], "self", "tree-self")];
  rows.forEach((d, i) => {
    const x = GAP + i * (BOX_W + GAP);
    parts.unshift(svg("line", { x1: rootX + BOX_W / 2, y1: GAP + BOX_H, x2: x + BOX_W / 2, y2: childY }));
    parts.push(node(x, childY, [d.account_name, "last contact " + when(d.last_contact),
      "last sync " + when(d.last_sync)], "", "tree-" + d.account_guid));
  });
  return svg("svg", { id: "tree", class: "tree", width, height, viewBox: "0 0 " + width + " " + height }, parts);
}

export async function render(root) {
  const self = await api.get("status");
  const rows = (await api.get("downstreams")).downstreams;
  root.append(el("h1", { text: "Downstream Servers" }), tree(self, rows));
  if (rows.length === 0) {
    root.append(el("p", { id: "downstreams-none", text: "No downstream server has synchronized from this server." }));
    return;
  }
  root.append(table("downstreams-table", [
    { title: "Name", cell: (d) => d.account_name },
    { title: "Address", cell: (d) => d.address || "" },
    { title: "Last contact", cell: (d) => when(d.last_contact) },
    { title: "Last sync", cell: (d) => when(d.last_sync) },
    { title: "Protocol", cell: (d) => d.protocol_version || "" },
    { title: "Id", cell: (d) => d.account_guid },
  ], rows));
}
