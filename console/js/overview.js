// overview: what the WSUS console's home page shows: synchronization state with live
// progress, last and next synchronization, failures with their reason, health checks and the
// content store's disk use; and "Synchronize now".
import * as api from "./api.js";
import { el, svg, clear, bytes, when, kv, errorLine } from "./dom.js";

// wsusctl checkhealth's words for the verdicts of GET health
const VERDICT = { ok: "PASS", warn: "WARN", fail: "FAIL", skipped: "SKIP" };
const POLL_MS = 1000; // while a sync runs, and for a while after "Synchronize now"
const IDLE_POLL_MS = 5000;
const START_GRACE_MS = 15000; // a sync asked for may take this long to show as running

function progressBar(done, total) {
  const w = 240, frac = total > 0 ? Math.min(1, done / total) : 0;
  return svg("svg", { class: "progress", width: w, height: 14, viewBox: "0 0 " + w + " 14" },
    svg("rect", { x: 0, y: 0, width: Math.round(w * frac), height: 14 }));
}

function runningView(row) {
  const d = row.detail || {};
  const parts = [el("p", { id: "sync-state", class: "warn",
    text: "Synchronizing (" + row.trigger + "), phase " + (row.phase || d.phase || "starting") +
      ", " + Math.round(row.seconds) + " s" })];
  if (d.revisions_to_fetch > 0)
    parts.push(el("p", { text: "Updates: " + d.revisions_fetched + " of " + d.revisions_to_fetch }),
      progressBar(d.revisions_fetched, d.revisions_to_fetch));
  if (d.files_total > 0)
    parts.push(el("p", { id: "sync-files", text: "Files: " + d.files_done + " of " + d.files_total + ", " +
      bytes(d.bytes_done) + " of " + bytes(d.bytes_total) + " (" + bytes(d.bytes_per_second) + "/s)" }),
      progressBar(d.bytes_done, d.bytes_total));
  return parts;
}

function lastView(row) {
  if (!row) return el("p", { id: "sync-last", text: "Never synchronized." });
  const cls = row.result === "succeeded" ? "ok" : "error";
  return el("div", { id: "sync-last" },
    el("p", { class: cls, id: "sync-last-result",
      text: "Last synchronization: " + row.result + " at " + when(row.finished_at) }),
    row.error ? el("p", { class: "error", id: "sync-last-error", text: "Reason: " + row.error }) : null,
    el("p", { class: "muted", text: row.new_revisions + " new and " + row.updated_revisions +
      " changed revisions, " + row.files + " files (" + bytes(row.bytes) + ") in " +
      Math.round(row.seconds) + " s" }));
}

export async function render(root) {
  const syncBox = el("div", { class: "card", id: "sync-card" });
  const healthBox = el("div", { class: "card", id: "health-card" });
  const diskBox = el("div", { class: "card", id: "disk-card" });
  const msg = el("p", { id: "sync-message" });
  const button = el("button", { id: "sync-now", type: "button", text: "Synchronize now" });
  root.append(el("h1", { text: "Overview" }), el("div", { class: "toolbar" }, button, msg),
    el("div", { class: "cards" }, syncBox, diskBox, healthBox));
  let timer = null, stopped = false, askedAt = 0;

  async function refresh() {
    timer = null;
    let st;
    try {
      st = await api.get("sync/status");
    } catch (e) {
      clear(syncBox).append(el("h2", { text: "Synchronization" }), errorLine("sync-error", e));
      return;
    }
    clear(syncBox).append(el("h2", { text: "Synchronization" }),
      st.running ? runningView(st.running) : el("p", { id: "sync-state", class: "ok", text: "Idle" }),
      lastView(st.last),
      kv("sync-schedule", [["Schedule", st.schedule || "manual"],
        ["Next synchronization", st.next_schedule ? when(st.next_schedule) : "none (manual)"],
        // the reporting rollup on its own (rollup-interval-hours); null on a root, with the
        // interval 0 or rollup off: then the row is left out
        ...(st.next_rollup ? [["Next reporting rollup", when(st.next_rollup)]] : []),
        ["Retry", st.retry_at ? when(st.retry_at) + " (" + st.retries_done + " done)" : "none"]]));
    button.disabled = !!st.running;
    if (st.running) {
      askedAt = 0;
      root.dataset.sawRunning = String(st.running.id); // for tests: progress was shown
    }
    const fast = st.running || Date.now() - askedAt < START_GRACE_MS;
    if (!stopped) timer = setTimeout(refresh, fast ? POLL_MS : IDLE_POLL_MS);
  }

  button.addEventListener("click", async () => {
    msg.textContent = "";
    msg.className = "";
    try {
      const r = await api.post("sync/now");
      askedAt = Date.now();
      msg.textContent = "Synchronization " + r.id + " started.";
      msg.className = "ok";
    } catch (e) {
      msg.textContent = e.message;
      msg.className = "error";
    }
    if (timer) clearTimeout(timer);
    refresh();
  });

  await refresh();
  try {
    const c = await api.get("content");
    const fs = c.filesystem || {};
    const used = fs.size - fs.free;
    diskBox.append(el("h2", { text: "Content store" }),
      kv("disk", [["Directory", c.content_dir], ["Stored", c.stored.files + " files, " + bytes(c.stored.bytes)],
        ["Still to download", c.to_download.files + " files, " + bytes(c.to_download.bytes)],
        ["Disk", bytes(used) + " used of " + bytes(fs.size) + ", " + bytes(fs.free) + " free"]]),
      progressBar(used, fs.size));
  } catch (e) {
    diskBox.append(el("h2", { text: "Content store" }), errorLine("disk-error", e));
  }
  healthBox.append(el("h2", { text: "Server health" }));
  try {
    const h = await api.getOptional("health");
    if (h === null)
      healthBox.append(el("p", { id: "health", class: "muted", text: "Health checks are not available on this server yet." }));
    else
      // GET health: {"checks": [{"id", "title", "verdict": ok|warn|fail|skipped, "detail", "fix"}]}
      healthBox.append(el("ul", { id: "health" }, (h.checks || []).map((c) =>
        el("li", { class: c.verdict === "ok" ? "ok" : c.verdict === "skipped" ? "muted" :
          c.verdict === "warn" ? "warn" : "error",
          text: VERDICT[c.verdict] + " " + c.title + ": " + c.detail + (c.fix ? " (fix: " + c.fix + ")" : "") }))));
  } catch (e) {
    healthBox.append(errorLine("health-error", e));
  }
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
