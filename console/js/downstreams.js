// downstreams: this server and the downstream servers that synchronize from it, as a tree
// (SVG; the whole hierarchy below when GET downstreams has the rolled-up "tree") and a table
// with each direct downstream's last contact and last synchronization.
import * as api from "./api.js";
import { el, svg, when, table } from "./dom.js";

const BOX_W = 230, BOX_H = 46, GAP = 16, LEVEL_GAP = 60;

function node(x, y, lines, cls, id) {
  return svg("g", { id, class: "node" },
    svg("rect", { x, y, width: BOX_W, height: BOX_H, rx: 4, class: cls }),
    lines.map((t, i) => svg("text", { x: x + 8, y: y + 15 + i * 13, text: t })));
}

// A tree of nodes {id, cls, lines, children}: leaves take the next slot from the left, a parent
// sits centred over its children, one row per depth.
function layout(n, depth, next, out) {
  const kids = (n.children || []).map((c) => layout(c, depth + 1, next, out));
  const x = kids.length ? (kids[0].x + kids[kids.length - 1].x) / 2 : GAP + next.slot++ * (BOX_W + GAP);
  const y = GAP + depth * (BOX_H + LEVEL_GAP);
  for (const k of kids)
    out.lines.push(svg("line", { x1: x + BOX_W / 2, y1: y + BOX_H, x2: k.x + BOX_W / 2, y2: k.y }));
  out.nodes.push(node(x, y, n.lines, n.cls, n.id));
  out.depth = Math.max(out.depth, depth);
  return { x, y };
}

function tree(root) {
  const next = { slot: 0 }, out = { lines: [], nodes: [], depth: 0 };
  layout(root, 0, next, out);
  const width = Math.max(1, next.slot) * (BOX_W + GAP) + GAP;
  const height = 2 * GAP + (out.depth + 1) * BOX_H + out.depth * LEVEL_GAP;
  return svg("svg", { id: "tree", class: "tree", width, height, viewBox: "0 0 " + width + " " + height },
    out.lines, out.nodes);
}

// This server over its direct downstreams (GET downstreams "downstreams"), or, when the answer
// has the rolled-up hierarchy ("tree": servers with their "children", reporting rollup), over
// every server below.
function hierarchy(self, answer) {
  const rolled = (s) => ({ id: "tree-" + s.server_id, cls: "", children: (s.children || []).map(rolled),
    lines: [s.name || s.server_id, "last sync " + when(s.last_sync), "last rollup " + when(s.last_rollup)] });
  const direct = (d) => ({ id: "tree-" + d.account_guid, cls: "", children: [],
    lines: [d.account_name, "last contact " + when(d.last_contact), "last sync " + when(d.last_sync)] });
  const children = answer.tree && answer.tree.length ? answer.tree.map(rolled)
    : answer.downstreams.map(direct);
  return { id: "tree-self", cls: "self", lines: ["This server", self.server_id, "wsusd " + self.version], children };
}

export async function render(root) {
  const self = await api.get("status");
  const answer = await api.get("downstreams");
  const rows = answer.downstreams;
  root.append(el("h1", { text: "Downstream Servers" }), tree(hierarchy(self, answer)));
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
