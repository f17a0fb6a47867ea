// history: the Synchronizations page: the last runs as a chart of durations and downloaded
// bytes (SVG), and a table with each run's result and, for a failure, its reason.
import * as api from "./api.js";
import { el, svg, bytes, when, table } from "./dom.js";

const LIMIT = 50;

function chart(rows) {
  const runs = rows.slice().reverse(); // oldest left
  const W = 720, H = 200, pad = 30, band = Math.min(40, (W - 2 * pad) / Math.max(1, runs.length));
  const maxS = Math.max(1, ...runs.map((r) => r.seconds || 0));
  const realMaxB = Math.max(0, ...runs.map((r) => r.bytes || 0)), maxB = Math.max(1, realMaxB);
  const h = (H - 2 * pad) / 2;
  const parts = [
    svg("text", { x: 4, y: 14, text: "duration (max " + Math.round(maxS) + " s)" }),
    svg("text", { x: 4, y: pad + h + 16, text: "downloaded (max " + bytes(realMaxB) + ")" }),
  ];
  runs.forEach((r, i) => {
    const x = pad + i * band + 1, w = Math.max(1, band - 2);
    const sh = Math.max(1, h * (r.seconds || 0) / maxS), bh = h * (r.bytes || 0) / maxB;
    parts.push(svg("rect", { x, y: pad + h - sh, width: w, height: sh,
      class: r.result === "succeeded" ? "bar-seconds" : "bar-failed" },
      svg("title", { text: "#" + r.id + " " + r.result + ", " + Math.round(r.seconds) + " s" })));
    if (bh > 0)
      parts.push(svg("rect", { x, y: H - pad - bh + 10, width: w, height: bh, class: "bar-bytes" },
        svg("title", { text: "#" + r.id + " " + bytes(r.bytes) })));
  });
  return svg("svg", { id: "history-chart", class: "chart", width: W, height: H + 10, viewBox: "0 0 " + W + " " + (H + 10) }, parts);
}

export async function render(root) {
  const rows = (await api.get("sync/history", { limit: LIMIT })).history;
  root.append(el("h1", { text: "Synchronizations" }));
  if (rows.length === 0) {
    root.append(el("p", { id: "history-none", text: "Never synchronized." }));
    return;
  }
  root.append(chart(rows), table("history-table", [
    { title: "#", cell: (r) => String(r.id) },
    { title: "Started", cell: (r) => when(r.started_at) },
    { title: "Trigger", cell: (r) => r.trigger },
    { title: "Front-end", cell: (r) => r.front_end || "" },
    { title: "Result", cell: (r) => el("span", { class: r.result === "succeeded" ? "ok" : r.result === "running" ? "warn" : "error", text: r.result }) },
    { title: "Duration", cell: (r) => Math.round(r.seconds) + " s" },
    { title: "New / changed", cell: (r) => r.new_revisions + " / " + r.updated_revisions },
    { title: "Files", cell: (r) => r.files + " (" + bytes(r.bytes) + ")" },
    { title: "Reason", cell: (r) => r.error || "" },
  ], rows));
}
