// settings: Options. Every setting of GET config, each saved on its own with POST config (the
// server normalizes and checks it and its message is shown as is). Products and
// classifications are picked by name from the catalog's categories and sent as GUIDs; secrets
// (the proxy password) are never shown: the server answers "(set)" and the field stays empty.
import * as api from "./api.js";
import { el } from "./dom.js";

const SHOWN = ["upstream", "products", "classifications", "languages", "schedule", "storage",
  "download", "proxy", "proxy-user", "proxy-password", "proxy-domain", "proxy-auth", "mode"];

function picker(s, options) {
  const chosen = new Set(s.value ? s.value.split(",").map((v) => v.trim()) : []);
  return el("select", { multiple: true, id: "set-" + s.key, "aria-label": s.key },
    options.map((c) => el("option", { value: c.update_id, text: c.title, selected: chosen.has(c.update_id) })));
}

export async function render(root) {
  const settings = (await api.get("config")).settings;
  const cats = (await api.get("updates", { type: "category", limit: 5000 })).updates;
  const byType = (types) => cats.filter((c) => types.includes(c.category_type))
    .sort((a, b) => a.title.localeCompare(b.title));
  const pickers = { products: byType(["Product", "ProductFamily", "Company"]),
    classifications: byType(["UpdateClassification"]) };
  root.append(el("h1", { text: "Options" }));
  const byKey = Object.fromEntries(settings.map((s) => [s.key, s]));
  for (const key of SHOWN.concat(settings.map((s) => s.key).filter((k) => !SHOWN.includes(k)))) {
    const s = byKey[key];
    if (!s) continue;
    let input;
    if (pickers[key] && pickers[key].length > 0) input = picker(s, pickers[key]);
    else if (s.choices && s.type === "enum")
      input = el("select", { id: "set-" + key }, s.choices.split("|").map((c) =>
        el("option", { value: c, text: c, selected: c === s.value })));
    else if (s.secret)
      input = el("input", { id: "set-" + key, type: "password", autocomplete: "new-password",
        placeholder: s.is_default ? "not set" : "set (type to replace)" });
    else input = el("input", { id: "set-" + key, type: "text", size: 50, value: s.value });
    const out = el("span", { id: "set-msg-" + key });
    const form = el("form", { class: "setting", id: "form-" + key },
      el("label", { for: "set-" + key, text: key }), input,
      el("button", { type: "submit", text: "Save" }),
      el("button", { type: "button", text: "Default", onclick: async () => save({ key, reset: true }) }), out);
    async function save(body) {
      out.textContent = "";
      try {
        const r = await api.post("config", body);
        out.className = r.warning ? "warn" : "ok";
        out.textContent = r.warning ? "saved: " + r.warning : "saved: " + (r.secret ? (r.is_default ? "not set" : "set") : r.value || "(empty)");
        if (s.secret) input.value = "";
      } catch (e) {
        out.className = "error";
        out.textContent = e.message;
      }
    }
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = input.multiple ? [...input.selectedOptions].map((o) => o.value).join(",") : input.value;
      save({ key, value });
    });
    root.append(form, el("p", { class: "muted", text: s.doc + (s.secret ? " (never shown)" : "") }));
  }
}
