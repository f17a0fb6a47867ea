// updates: the Updates page. Search and filters go to the server (GET updates with search,
// product, classification, approval state, limit and offset: one page of rows at a time);
// approve and decline go through the bulk calls, first as a dry run whose answer is shown
// for confirmation, then for exactly the ids the dry run listed.
import * as api from "./api.js";
import { el, clear, bytes, when, table, kv, errorLine } from "./dom.js";

const PAGE = 50;

// Category lists of updates/show are [{id, title}].
const names = (list) => (list || []).map((c) => c.title || c.id).join(", ");

async function categories() {
  const r = await api.get("updates", { type: "category", limit: 5000 });
  const by = (types) => r.updates.filter((u) => types.includes(u.category_type))
    .sort((a, b) => a.title.localeCompare(b.title));
  return { products: by(["Product", "ProductFamily", "Company"]), classes: by(["UpdateClassification"]) };
}

function select(id, label, options) {
  return [el("label", { for: id, text: label }),
    el("select", { id }, options.map(([v, t]) => el("option", { value: v, text: t })))];
}

export async function render(root) {
  const cats = await categories();
  const groups = (await api.get("groups")).groups;
  const state = { offset: 0, selected: new Set(), rows: [], gen: 0 };
  const search = el("input", { id: "upd-search", type: "search", size: 30, placeholder: "title words, KB or id" });
  const go = el("button", { id: "upd-go", type: "submit", text: "Search" });
  const form = el("form", { class: "toolbar", id: "upd-filter" }, search,
    select("upd-product", "Product", [["", "any"], ...cats.products.map((c) => [c.update_id, c.title])]),
    select("upd-class", "Classification", [["", "any"], ...cats.classes.map((c) => [c.update_id, c.title])]),
    select("upd-approval", "Approval", [["", "any except declined"], ["not_approved", "not approved"],
      ["approved", "approved"], ["declined", "declined"]]),
    el("label", {}, el("input", { id: "upd-superseded", type: "checkbox" }), " superseded only"),
    el("label", {}, el("input", { id: "upd-failed", type: "checkbox" }), " ",
      el("span", { class: "redx", text: "\u2716" }), " missing files only"), go);
  const actions = el("div", { class: "toolbar", id: "upd-actions" },
    select("upd-group", "Group", groups.filter((g) => g.name !== "Unassigned Computers")
      .map((g) => [g.name, g.name])),
    el("button", { id: "upd-approve", type: "button", text: "Approve selected" }),
    el("button", { id: "upd-decline", type: "button", text: "Decline selected" }));
  const dialog = el("div", { id: "upd-dialog" });
  const list = el("div", { id: "upd-list" });
  const details = el("div", { id: "upd-details" });
  root.append(el("h1", { text: "Updates" }), form, actions, dialog, list, details);

  function query() {
    const q = { search: search.value.trim(), product: form.querySelector("#upd-product").value,
      classification: form.querySelector("#upd-class").value, limit: PAGE, offset: state.offset };
    const a = form.querySelector("#upd-approval").value;
    if (a) q[a] = 1;
    if (form.querySelector("#upd-superseded").checked) q.superseded = 1;
    return q;
  }

  // The red-X list (GET updates/failed, the same answer `wsusctl updates list --failed`
  // prints): each update with its reason, its missing files and the fix.
  // The updates with missing files by id, for the red X of the list; read once per search
  // (their number grows with failed files, not with the catalog).
  async function failedMap() {
    if (!state.failed) {
      const m = new Map();
      for (const f of (await api.get("updates/failed")).updates) m.set(f.update_id, f);
      state.failed = m;
    }
    return state.failed;
  }

  async function loadFailed(gen) {
    let r;
    try {
      r = await api.get("updates/failed");
      if (gen !== state.gen) return; // a newer search started meanwhile
    } catch (e) {
      list.append(errorLine("upd-error", e));
      return;
    }
    list.append(el("p", { id: "upd-count", text: r.total === 0 ? "No update has missing files." :
      r.total + " update(s) with missing files" }),
      table("upd-failed-table", [
        { title: "", cell: (u) => el("input", { type: "checkbox", class: "upd-pick", "data-id": u.update_id,
          checked: state.selected.has(u.update_id), onchange: (ev) => {
            if (ev.target.checked) state.selected.add(u.update_id);
            else state.selected.delete(u.update_id);
          } }) },
        { title: "", cell: () => el("span", { class: "redx", title: "files missing", text: "\u2716" }) },
        { title: "Title", cell: (u) => el("a", { href: "#updates", class: "upd-title", "data-id": u.update_id,
          text: u.title, onclick: (ev) => { ev.preventDefault(); show(u.update_id); } }) },
        { title: "Reason", cell: (u) => el("span", { class: "upd-why", text: u.why }) },
        { title: "Missing files", cell: (u) => el("ul", {}, u.missing.map((f) =>
          el("li", { text: f.file + " (" + f.sha1 + "): " + f.detail }))) },
        { title: "Fix", cell: (u) => el("span", { class: "upd-remedy", text: u.remedy }) },
      ], r.updates, (u) => ({ "data-id": u.update_id, class: "redx-row" })));
  }

  async function load() {
    const gen = ++state.gen;
    clear(list);
    if (form.querySelector("#upd-failed").checked) return loadFailed(gen);
    let r, failed;
    try {
      r = await api.get("updates", query());
      failed = await failedMap();
      if (gen !== state.gen) return; // a newer search started meanwhile
    } catch (e) {
      list.append(errorLine("upd-error", e));
      return;
    }
    state.rows = r.updates;
    const columns = [
      { title: "", cell: (u) => el("input", { type: "checkbox", class: "upd-pick", "data-id": u.update_id,
        checked: state.selected.has(u.update_id), onchange: (ev) => {
          if (ev.target.checked) state.selected.add(u.update_id);
          else state.selected.delete(u.update_id);
        } }) },
      { title: "", cell: (u) => failed.has(u.update_id) ? el("span", { class: "redx",
        title: failed.get(u.update_id).why + ": " + failed.get(u.update_id).remedy, text: "\u2716" }) : "" },
      { title: "Title", cell: (u) => el("a", { href: "#updates", class: "upd-title", "data-id": u.update_id,
        text: u.title, onclick: (ev) => { ev.preventDefault(); show(u.update_id); } }) },
      { title: "KB", cell: (u) => u.kb ? "KB" + u.kb : "" },
      { title: "Classification", cell: (u) => u.classification || "" },
      { title: "Approval", cell: (u) => u.declined ? el("span", { class: "redx", text: "Declined" })
        : u.approved ? "Approved" : el("span", { class: "muted", text: "Not approved" }) },
      { title: "Superseded", cell: (u) => u.superseded ? "yes" : "" },
      { title: "Size", cell: (u) => bytes(u.size) },
      { title: "Released", cell: (u) => when(u.created) },
    ];
    const last = state.offset + r.count;
    list.append(el("p", { id: "upd-count", text: r.total === 0 ? "No update matches." :
      "Updates " + (state.offset + 1) + " to " + last + " of " + r.total }),
      table("upd-table", columns, r.updates, (u) => ({ "data-id": u.update_id,
        class: failed.has(u.update_id) ? "redx-row" : undefined })),
      el("div", { class: "toolbar" },
        el("button", { id: "upd-prev", type: "button", text: "Previous", disabled: state.offset === 0,
          onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); } }),
        el("button", { id: "upd-next", type: "button", text: "Next", disabled: last >= r.total,
          onclick: () => { state.offset += PAGE; load(); } })));
  }

  async function show(id) {
    clear(details);
    try {
      const u = (await api.get("updates/show", { id })).update;
      details.append(el("div", { class: "details" }, el("h2", { id: "upd-detail-title", text: u.title }),
        kv("upd-detail", [["Update id", u.update_id], ["Revision", String(u.revision)],
          ["KB", u.kb ? "KB" + u.kb : ""], ["Severity", u.msrc_severity || ""],
          ["Classification", names(u.classifications)], ["Products", names(u.products)],
          ["Size", bytes(u.size)], ["Declined", u.declined ? "yes" : "no"],
          ["Approvals", (u.approvals || []).map((a) => a.action + " for " + a.group).join("; ") || "none"],
          ["Files", (u.files || []).map((f) => f.name + " (" + f.state + ")").join(", ") || "none"],
          ["Superseded by", (u.superseded_by || []).length + " update(s)"]]),
        el("p", { text: u.description || "" })));
    } catch (e) {
      details.append(errorLine("upd-detail-error", e));
    }
  }

  // Dry run, then ask; the real call sends the ids the dry run listed.
  async function change(verb) {
    clear(dialog);
    const ids = [...state.selected];
    if (ids.length === 0) {
      dialog.append(el("p", { class: "error", id: "upd-dialog-msg", text: "Select updates first (the boxes on the left)." }));
      return;
    }
    const group = actions.querySelector("#upd-group").value;
    const admin = "web console";
    const body = verb === "approve" ? { ids, group, admin } : { ids, admin };
    let dry;
    try {
      dry = await api.post(verb + "/bulk", { ...body, dry_run: true });
    } catch (e) {
      dialog.append(errorLine("upd-dialog-msg", e));
      return;
    }
    const question = verb === "approve" ? "Approve " + dry.count + " update(s) for " + dry.group + "?"
      : "Decline " + dry.count + " update(s)?";
    const box = el("div", { class: "dialog" }, el("p", { id: "upd-dialog-msg", text: question }),
      el("ul", {}, dry.updates.map((u) => el("li", { text: u.title }))),
      el("button", { id: "upd-confirm", type: "button", text: verb === "approve" ? "Approve" : "Decline",
        onclick: async () => {
          clear(dialog);
          try {
            const r = await api.post(verb + "/bulk", { ...body, ids: dry.updates.map((u) => u.update_id) });
            dialog.append(el("p", { class: "ok", id: "upd-dialog-msg", text: verb === "approve"
              ? "Approved " + r.count + " update(s) for " + r.action + " in " + r.group + "."
              : "Declined " + r.count + " update(s)." }));
            state.selected.clear();
            load();
          } catch (e) {
            dialog.append(errorLine("upd-dialog-msg", e));
          }
        } }),
      el("button", { id: "upd-cancel", type: "button", text: "Cancel", onclick: () => clear(dialog) }));
    dialog.append(box);
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); state.offset = 0; state.failed = null; load(); });
  actions.querySelector("#upd-approve").addEventListener("click", () => change("approve"));
  actions.querySelector("#upd-decline").addEventListener("click", () => change("decline"));
  await load();
}
