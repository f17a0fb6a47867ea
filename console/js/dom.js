// dom: building elements without HTML strings. Every value goes in as text (textContent or an
// attribute), never through innerHTML, so a title holding <script> shows as text.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function el(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n), i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}

export function when(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// A table: columns [{title, cell: row -> Node|string}], rows.
export function table(id, columns, rows, rowAttrs) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { text: c.title })))),
    el("tbody", {}, rows.map((r) =>
      el("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => el("td", {}, c.cell(r)))))));
}

// A definition list of [label, value] pairs.
export function kv(id, pairs) {
  return el("dl", { class: "kv", id }, pairs.map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

export function errorLine(id, e) {
  return el("p", { class: "error", id, text: e && e.message ? e.message : String(e) });
}
